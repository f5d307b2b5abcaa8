#include "redis/scripts.h"

namespace vontres::redis::scripts {

const Script& compare_and_set() {
  static const Script script(R"lua(
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
)lua");
  return script;
}

const Script& increment() {
  static const Script script(R"lua(
local existed = redis.call('EXISTS', KEYS[1])
redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])
)lua");
  return script;
}

const Script& set_ttl() {
  static const Script script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
)lua");
  return script;
}

// Shared prologue: the server's time in ms and the lease's fields.
#define VONTRES_LEASE_PROLOGUE                                              \
  "local t = redis.call('TIME')\n"                                          \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
  "local f = redis.call('HMGET', KEYS[1], 'holder', 'token', 'expires')\n"  \
  "local holder = f[1]\n"                                                   \
  "local token = tonumber(f[2] or '0')\n"                                   \
  "local expires = tonumber(f[3] or '0')\n"                                 \
  "local live = holder and expires > now\n"

const Script& lease_acquire() {
  static const Script script(VONTRES_LEASE_PROLOGUE R"lua(
local until_ms = now + tonumber(ARGV[2])
if live then
  if holder ~= ARGV[1] then return {0} end
else
  token = token + 1
  holder = ARGV[1]
end
redis.call('HSET', KEYS[1], 'holder', holder, 'token', string.format('%.0f', token),
           'expires', string.format('%.0f', until_ms))
return {1, holder, token, until_ms}
)lua");
  return script;
}

const Script& lease_renew() {
  static const Script script(VONTRES_LEASE_PROLOGUE R"lua(
if not live or holder ~= ARGV[1] or token ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'expires', string.format('%.0f', now + tonumber(ARGV[3])))
return 1
)lua");
  return script;
}

const Script& lease_release() {
  static const Script script(VONTRES_LEASE_PROLOGUE R"lua(
if not live or holder ~= ARGV[1] or token ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'expires', '0')
return 1
)lua");
  return script;
}

const Script& lease_current() {
  static const Script script(VONTRES_LEASE_PROLOGUE R"lua(
if not live then return {} end
return {holder, token, expires}
)lua");
  return script;
}

#undef VONTRES_LEASE_PROLOGUE

}  // namespace vontres::redis::scripts
