-- Count the packets that match each of several Wireshark display filters, in ONE pass over a capture.
--
--   tshark -q -n -r capture.pcap -X lua_script:/opt/socklab/count-filters.lua -X lua_script1:FILTERS
--
-- FILTERS is a file with one display filter per line. Output, one record per line, tab-separated:
--   total   <frames in the capture>
--   count   <filter number, from 1>   <frames that match>
--   sample  <filter number>           <frame> <src> -> <dst> <protocol> len=<bytes> [flags]  (first few)
--   error   <filter number>           <why the filter is invalid>
--   end                                (last: the counts are complete; tshark may still be exiting)
-- Filters are evaluated by Wireshark's own engine (a tap per filter), so they mean exactly what they
-- mean in Wireshark. Used by the orchestrator (orchestrator/capture.py), which parses this output.

local args = { ... }
local path = args[1]
if not path then error("count-filters.lua: pass the filters file as -X lua_script1:PATH") end

local SAMPLES = 5
local tcp_flags = Field.new("tcp.flags.str")
local ip_proto = Field.new("ip.proto")
local filters, counts, samples, errors = {}, {}, {}, {}

for line in io.lines(path) do
  filters[#filters + 1] = line
end

local function describe(pinfo)
  local src, dst = tostring(pinfo.src), tostring(pinfo.dst)
  if pinfo.src_port and pinfo.src_port ~= 0 then src = src .. ":" .. pinfo.src_port end
  if pinfo.dst_port and pinfo.dst_port ~= 0 then dst = dst .. ":" .. pinfo.dst_port end
  local text = "#" .. pinfo.number .. " " .. src .. " -> " .. dst .. " len=" .. pinfo.len
  local flags = tcp_flags()
  if flags then text = text .. " TCP [" .. tostring(flags.display or flags.value) .. "]" end
  local proto = ip_proto()
  if not flags and proto then text = text .. " ip.proto=" .. tostring(proto.value) end
  return text
end

local total = 0
local all = Listener.new(nil, nil, true)
function all.packet() total = total + 1 end

for i, f in ipairs(filters) do
  local ok, listener = pcall(Listener.new, nil, f, true)
  if ok then
    counts[i], samples[i] = 0, {}
    listener.packet = function(pinfo)
      counts[i] = counts[i] + 1
      if #samples[i] < SAMPLES then samples[i][#samples[i] + 1] = describe(pinfo) end
    end
  else
    errors[i] = tostring(listener):gsub("[\r\n\t]+", " ")
  end
end

function all.draw()
  print("total\t" .. total)
  for i = 1, #filters do
    if errors[i] then
      print("error\t" .. i .. "\t" .. errors[i])
    else
      print("count\t" .. i .. "\t" .. counts[i])
      for _, s in ipairs(samples[i]) do print("sample\t" .. i .. "\t" .. s) end
    end
  end
  print("end")
  io.stdout:flush()
end
