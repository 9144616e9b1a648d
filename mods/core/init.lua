--!strict
-- core: the town's map lives in map.toml (named in mod.toml); this file
-- brings it to life with Old Tom, who greets everyone arriving in the plaza.

local greeter = require("greeter")

gsp.prefab("npc", { shape = "box", size = { x = 0.6, y = 1.8, z = 0.6 }, body = "fixed" })
greeter.spawn_tom({ x = -6, y = 0.9, z = -6 })

gsp.on("enter_room", function(player, room, from)
	if room == "plaza" then
		greeter.welcome(player.name, from == nil)
	end
end)

gsp.command("rooms", "rooms                 list the places in town", function(ctx, _args)
	local lines = { "The town:" }
	for _, key in gsp.rooms() do
		local room = gsp.room(key)
		table.insert(lines, string.format("  %-10s %s", key, room.title))
	end
	ctx:reply(table.concat(lines, "\n"))
end)

-- Other mods can ask who has been here before.
gsp.exports.visits = function(name: string): number
	return greeter.visits(name)
end
