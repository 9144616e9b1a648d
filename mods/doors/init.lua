--!strict
-- doors: a door is a kinematic slab; `use door` slides it up out of the
-- way, and it closes by itself a little later. 3D players see it move and
-- can walk through while it is open; text players read what happens.

local OPEN_SECONDS = 10

gsp.prefab("door", { shape = "box", size = { x = 0.2, y = 3, z = 2 }, body = "kinematic" })

type Door = { name: string, room: string, entity: any, closed_at: any, open: boolean, timer: number? }
local doors: { Door } = {}

local function add_door(name: string, room: string, at)
	local door: Door = { name = name, room = room, entity = gsp.spawn("door", at), closed_at = at, open = false }
	door.entity:set_display({ name = name, colour = "#7a4a24" })
	table.insert(doors, door)
end

add_door("shed door", "market", { x = 29.5, y = 1.5, z = 0 })

local function set_open(door: Door, open: boolean, by: string?)
	door.open = open
	local p = door.closed_at
	door.entity:set_position(if open then { x = p.x, y = p.y + 3.2, z = p.z } else p)
	if door.timer then
		gsp.cancel(door.timer)
		door.timer = nil
	end
	if open then
		door.timer = gsp.after(OPEN_SECONDS, function()
			door.timer = nil
			set_open(door, false)
			gsp.send_room(door.room, "The " .. door.name .. " swings shut.")
		end)
	end
end

gsp.command("use", "use <thing>           open a door, or use something here", function(ctx, args)
	local room = ctx.player:room()
	local wanted = string.lower(args)
	for _, door in doors do
		if door.room == room and (wanted == "" or string.find(door.name, wanted, 1, true) or wanted == "door") then
			if door.open then
				ctx:reply("The " .. door.name .. " is already open.")
				return
			end
			set_open(door, true)
			ctx:reply("You open the " .. door.name .. ".")
			gsp.send_room(room, ctx.player.name .. " opens the " .. door.name .. ".", ctx.player)
			return
		end
	end
	ctx:reply(if wanted == "" then "There is nothing here to use." else "You see no '" .. args .. "' here.")
end)

gsp.exports.is_open = function(name: string): boolean
	for _, door in doors do
		if door.name == name then
			return door.open
		end
	end
	return false
end
