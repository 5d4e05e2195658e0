#include "http/client_table.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace pingmesh {

ClientKey client_key(const sockaddr* sa) {
  ClientKey k;
  if (sa->sa_family == AF_INET) {
    k.bytes[10] = k.bytes[11] = 0xff;
    std::memcpy(&k.bytes[12], &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(k.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  }
  return k;
}

size_t ClientTable::KeyHash::operator()(const ClientKey& k) const noexcept {
  uint64_t a, b;
  std::memcpy(&a, k.bytes.data(), 8);
  std::memcpy(&b, k.bytes.data() + 8, 8);
  return size_t((a * 0x9E3779B97F4A7C15ull) ^ (b + (a >> 29)));
}

void ClientTable::add(Member& m, const ClientKey& key, bool handshaking) {
  Client& c = clients_[key];
  c.key = key;
  m.client_ = &c;  // element addresses survive rehashing
  m.at_ = c.members.insert(c.members.end(), &m);
  m.handshaking_ = handshaking;
  if (handshaking) m.handshake_at_ = c.handshakes.insert(c.handshakes.end(), &m);
}

void ClientTable::handshake_done(Member& m) {
  if (!m.client_ || !m.handshaking_) return;
  m.client_->handshakes.erase(m.handshake_at_);
  m.handshaking_ = false;
}

void ClientTable::remove(Member& m) {
  if (!m.client_) return;
  handshake_done(m);
  Client* c = m.client_;
  c->members.erase(m.at_);
  m.client_ = nullptr;
  if (c->members.empty()) clients_.erase(c->key);
}

bool ClientTable::take_handshake_token(const ClientKey& key, uint64_t now_ns, double rate,
                                       double burst) {
  auto refill = [&](Bucket& b) {
    b.tokens = std::min(burst, b.tokens + double(now_ns - b.at_ns) * 1e-9 * rate);
    b.at_ns = now_ns;
  };
  if (buckets_.size() >= kMaxBuckets && !buckets_.contains(key)) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second);
      it = it->second.tokens >= burst ? buckets_.erase(it) : std::next(it);
    }
    if (buckets_.size() >= kMaxBuckets) buckets_.erase(buckets_.begin());  // many addresses
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst, now_ns});
  if (!fresh) refill(it->second);
  if (it->second.tokens < 1) return false;
  it->second.tokens -= 1;
  return true;
}

size_t ClientTable::connections(const ClientKey& key) const {
  auto it = clients_.find(key);
  return it == clients_.end() ? 0 : it->second.members.size();
}

size_t ClientTable::handshakes(const ClientKey& key) const {
  auto it = clients_.find(key);
  return it == clients_.end() ? 0 : it->second.handshakes.size();
}

ClientTable::Member* ClientTable::oldest_idle(const Client& c) {
  Member* served = nullptr;
  for (Member* m : c.members) {
    if (!m->evictable()) continue;
    if (!m->answered()) return m;
    if (!served) served = m;
  }
  return served;
}

ClientTable::Member* ClientTable::oldest_idle(const ClientKey& key) const {
  auto it = clients_.find(key);
  return it == clients_.end() ? nullptr : oldest_idle(it->second);
}

// A scan: the table holds at most the responder's connection bound of clients.
ClientTable::Member* ClientTable::oldest_idle_of_heaviest() const {
  const Client* heaviest = nullptr;
  for (const auto& [key, c] : clients_)
    if (!heaviest || c.members.size() > heaviest->members.size()) heaviest = &c;
  return heaviest ? oldest_idle(*heaviest) : nullptr;
}

ClientTable::Member* ClientTable::oldest_handshake(const ClientKey& key) const {
  auto it = clients_.find(key);
  if (it == clients_.end() || it->second.handshakes.empty()) return nullptr;
  return it->second.handshakes.front();
}

ClientTable::Member* ClientTable::oldest_handshake_of_heaviest() const {
  const Client* heaviest = nullptr;
  for (const auto& [key, c] : clients_)
    if (!heaviest || c.handshakes.size() > heaviest->handshakes.size()) heaviest = &c;
  return heaviest && !heaviest->handshakes.empty() ? heaviest->handshakes.front() : nullptr;
}

}  // namespace pingmesh
