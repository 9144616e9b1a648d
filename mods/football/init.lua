--!strict
-- football: a ball and a goal at the west end of the plaza. Graphical
-- players push the ball by walking into it; text players `kick` it. A goal
-- is announced to the whole town, and the score board (kept in
-- gsp.storage, so it survives reloads) is one `score` away.

local KICK_SPEED = 9
local CENTRE = { x = -3, y = 0.3, z = 0 }

gsp.storage.scores = gsp.storage.scores or {}

-- The ball is saved with the world: after a restart it lies where it was left.
local ball = gsp.spawn("ball", CENTRE, { key = "ball" })
-- What graphical players see over it, and its colour.
ball:set_display({ name = "football", colour = "#f4f4f0" })
gsp.sensor("goal", { x = -9.4, y = 1, z = 0 }, { x = 1, y = 2, z = 4 })

local last_kicker: string? = nil
local resetting = false

local function nearest_player(): string?
	local best, best_d = nil, 4.0
	local b = ball:position()
	for _, p in gsp.find_in_room("plaza") do
		if p:is_player() then
			local q = p:position()
			local d = math.sqrt((q.x - b.x) ^ 2 + (q.z - b.z) ^ 2)
			if d < best_d then
				best, best_d = p.name, d
			end
		end
	end
	return best
end

local function reset_ball()
	ball:set_position(CENTRE)
	ball:set_velocity({ x = 0, y = 0, z = 0 })
	resetting = false
end

gsp.on("trigger", function(name, entity, entered)
	if name ~= "goal" or not entered or entity ~= ball or resetting then
		return
	end
	resetting = true
	local scorer = nearest_player() or last_kicker or "nobody"
	gsp.storage.scores[scorer] = (gsp.storage.scores[scorer] or 0) + 1
	gsp.broadcast("GOAL! " .. scorer .. " scores in the plaza (" .. gsp.storage.scores[scorer] .. " in all).")
	last_kicker = nil
	gsp.after(2, reset_ball)
end)

local DIRECTIONS = {
	north = { 0, 1 }, south = { 0, -1 }, east = { 1, 0 }, west = { -1, 0 },
	n = { 0, 1 }, s = { 0, -1 }, e = { 1, 0 }, w = { -1, 0 },
}

gsp.command("kick", "kick [direction]      kick the ball (west scores)", function(ctx, args)
	if ctx.player:room() ~= "plaza" then
		ctx:reply("The ball is in the plaza.")
		return
	end
	local word = if args == "" then "west" else string.lower(args)
	local d = DIRECTIONS[word]
	if not d then
		ctx:reply("Kick it which way? north, south, east or west.")
		return
	end
	last_kicker = ctx.player.name
	ball:set_velocity({ x = d[1] * KICK_SPEED, y = 2, z = d[2] * KICK_SPEED })
	ctx:reply("You kick the ball " .. word .. ".")
	gsp.send_room("plaza", ctx.player.name .. " kicks the ball " .. word .. ".", ctx.player)
end)

gsp.command("score", "score                 show the football score board", function(ctx, _args)
	local rows = {}
	for name, goals in gsp.storage.scores do
		table.insert(rows, { name = name, goals = goals })
	end
	if #rows == 0 then
		ctx:reply("No goals yet. The ball is in the plaza: 'kick' it west.")
		return
	end
	table.sort(rows, function(a, b)
		return a.goals > b.goals or (a.goals == b.goals and a.name < b.name)
	end)
	local lines = { "Score board:" }
	for i, row in rows do
		table.insert(lines, string.format("  %d. %-16s %d", i, row.name, row.goals))
	end
	ctx:reply(table.concat(lines, "\n"))
end)

gsp.exports.scores = function()
	return gsp.storage.scores
end
