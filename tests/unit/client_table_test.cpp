// The responder's client table, on its own: keys, the heaviest client, the oldest idle
// member, handshakes, and the per-address handshake tokens.
#include "http/client_table.hpp"

#include <gtest/gtest.h>
#include <uv.h>

using namespace pingmesh;

namespace {

struct Conn : ClientTable::Member {
  bool busy = false;
  bool served = false;
  bool evictable() const override { return !busy; }
  bool answered() const override { return served; }
};

ClientKey key(const char* ip) {
  sockaddr_storage ss{};
  if (uv_ip4_addr(ip, 0, reinterpret_cast<sockaddr_in*>(&ss)) != 0)
    uv_ip6_addr(ip, 0, reinterpret_cast<sockaddr_in6*>(&ss));
  return client_key(reinterpret_cast<sockaddr*>(&ss));
}

}  // namespace

TEST(ClientKey, OneKeyPerAddress) {
  EXPECT_EQ(key("192.0.2.1"), key("::ffff:192.0.2.1")) << "IPv4 on a dual-stack socket";
  EXPECT_NE(key("192.0.2.1"), key("192.0.2.2"));
  EXPECT_NE(key("2001:db8::1"), key("2001:db8::2")) << "one /64 holds many mesh nodes";
}

TEST(ClientTable, HeaviestClientsOldestIdle) {
  ClientTable t;
  Conn a1, a2, a3, b1;
  t.add(a1, key("127.0.0.3"), false);
  t.add(b1, key("127.0.0.4"), false);
  t.add(a2, key("127.0.0.3"), false);
  t.add(a3, key("127.0.0.3"), false);
  EXPECT_EQ(t.connections(key("127.0.0.3")), 3u);
  EXPECT_EQ(t.clients(), 2u);
  EXPECT_EQ(t.oldest_idle_of_heaviest(), &a1);
  a1.served = true;
  EXPECT_EQ(t.oldest_idle_of_heaviest(), &a2) << "one that never completed a request first";
  a2.served = a3.served = true;
  EXPECT_EQ(t.oldest_idle_of_heaviest(), &a1) << "then the oldest idle keep-alive one";
  a1.busy = true;
  EXPECT_EQ(t.oldest_idle_of_heaviest(), &a2) << "a connection being answered stays";
  a2.busy = a3.busy = true;
  EXPECT_EQ(t.oldest_idle_of_heaviest(), nullptr) << "nothing idle: refuse, do not evict";
  EXPECT_EQ(t.oldest_idle(key("127.0.0.4")), &b1);
  t.remove(a1);
  t.remove(a2);
  t.remove(a3);
  EXPECT_EQ(t.clients(), 1u) << "an address with no connection is forgotten";
  t.remove(b1);
  EXPECT_EQ(t.clients(), 0u);
}

TEST(ClientTable, Handshakes) {
  ClientTable t;
  Conn a1, a2, b1, b2, b3;
  t.add(a1, key("127.0.0.3"), true);
  t.add(a2, key("127.0.0.3"), true);
  t.add(b1, key("127.0.0.4"), true);
  t.add(b2, key("127.0.0.4"), true);
  t.add(b3, key("127.0.0.4"), true);
  EXPECT_EQ(t.oldest_handshake_of_heaviest(), &b1);
  t.handshake_done(b1);
  t.handshake_done(b2);
  EXPECT_EQ(t.handshakes(key("127.0.0.4")), 1u);
  EXPECT_EQ(t.connections(key("127.0.0.4")), 3u);
  EXPECT_EQ(t.oldest_handshake_of_heaviest(), &a1);
  EXPECT_EQ(t.oldest_handshake(key("127.0.0.4")), &b3);
  for (Conn* c : {&a1, &a2, &b1, &b2, &b3}) t.remove(*c);
}

TEST(ClientTable, HandshakeTokens) {
  ClientTable t;
  const uint64_t s = 1000000000;
  auto k = key("127.0.0.3");
  EXPECT_TRUE(t.take_handshake_token(k, 10 * s, 4, 2));
  EXPECT_TRUE(t.take_handshake_token(k, 10 * s, 4, 2));
  EXPECT_FALSE(t.take_handshake_token(k, 10 * s, 4, 2)) << "the burst is spent";
  EXPECT_TRUE(t.take_handshake_token(key("127.0.0.4"), 10 * s, 4, 2)) << "another address";
  EXPECT_TRUE(t.take_handshake_token(k, 10 * s + s / 4, 4, 2)) << "a quarter second: one more";
  EXPECT_FALSE(t.take_handshake_token(k, 10 * s + s / 4, 4, 2));
  EXPECT_TRUE(t.take_handshake_token(k, 100 * s, 4, 2));
  EXPECT_TRUE(t.take_handshake_token(k, 100 * s, 4, 2));
  EXPECT_FALSE(t.take_handshake_token(k, 100 * s, 4, 2)) << "refills to the burst, no more";
  // Many addresses: the table forgets full buckets, never a spent one while room remains.
  for (int i = 0; i < 3000; ++i) {
    ClientKey other{};
    other.bytes[0] = uint8_t(i >> 8);
    other.bytes[1] = uint8_t(i);
    other.bytes[2] = 1;
    t.take_handshake_token(other, 200 * s + uint64_t(i) * s, 4, 2);
  }
  EXPECT_TRUE(t.take_handshake_token(k, 4000 * s, 4, 2));
}
