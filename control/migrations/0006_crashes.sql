-- How a server's world last exited on its own (JSON: {"at_ms":..,
-- "status":"exit code 1","last_lines":[..]}), shown with a crashed state.
ALTER TABLE servers ADD COLUMN crash TEXT;
