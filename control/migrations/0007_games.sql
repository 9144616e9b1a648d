-- How a template's game is known ready, counted and stopped (JSON; none: a
-- GSP world).
ALTER TABLE templates ADD COLUMN game TEXT;
