--!strict
-- Old Tom stands by the fountain and greets whoever comes into the plaza,
-- remembering (in gsp.storage, which survives reloads) who has been before.

local NAME = "Old Tom"
local QUIET_SECONDS = 120

local greeter = {}
local last_greeted: { [string]: number } = {}

gsp.storage.visits = gsp.storage.visits or {}

function greeter.spawn_tom(at)
	local tom = gsp.spawn("npc", at)
	tom:set_display({ name = NAME, colour = "#6b8e4e" })
	return tom
end

function greeter.visits(name: string): number
	return gsp.storage.visits[name] or 0
end

function greeter.welcome(name: string, joined: boolean)
	local now = gsp.time()
	local last = last_greeted[name]
	if not joined and last and now - last < QUIET_SECONDS then
		return
	end
	last_greeted[name] = now
	local visits = greeter.visits(name)
	gsp.storage.visits[name] = visits + 1
	local line = if visits == 0
		then "Welcome to town, " .. name .. "! Type 'help' to see what you can do."
		else "Welcome back, " .. name .. "."
	-- A moment later, as a person would.
	gsp.after(0.5, function()
		gsp.say_as(NAME, "plaza", line)
	end)
end

return greeter
