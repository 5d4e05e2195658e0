// Connections grouped by the client's address, so one host cannot take every slot: the
// responder asks who holds the most and evicts that client's oldest idle connection.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

namespace pingmesh {

// One client address: IPv4 (as ::ffff:a.b.c.d) or IPv6. A whole IPv6 address, not its /64:
// mesh nodes in one cloud subnet share a /64, and must not share one client's slots.
struct ClientKey {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const ClientKey&) const = default;
};
ClientKey client_key(const sockaddr* sa);

class ClientTable {
  struct Client;

 public:
  // A connection as the table sees it.
  class Member {
   public:
    // True while no answer is being written: never sent a request, mid-request, or idle
    // between keep-alive requests. Only these are evicted.
    virtual bool evictable() const = 0;
    // True once a request was answered: such idle connections go after those that never
    // completed one.
    virtual bool answered() const = 0;

   protected:
    ~Member() = default;

   private:
    friend class ClientTable;
    Client* client_ = nullptr;
    std::list<Member*>::iterator at_;
    std::list<Member*>::iterator handshake_at_;
    bool handshaking_ = false;
  };

  // The member joins its client's list (the newest last); handshaking when it is TLS.
  void add(Member& m, const ClientKey& key, bool handshaking);
  void handshake_done(Member& m);
  void remove(Member& m);

  // Takes one of the client's new-handshake tokens (rate per second, up to burst saved);
  // false when it has none. A handshake costs a signature: this bounds the loop time one
  // address can take, however fast it reconnects.
  bool take_handshake_token(const ClientKey& key, uint64_t now_ns, double rate, double burst);

  size_t connections(const ClientKey& key) const;
  size_t handshakes(const ClientKey& key) const;
  size_t clients() const { return clients_.size(); }

  // The oldest evictable member of the client holding the most connections, one that never
  // completed a request first; when that client has none, nullptr (its connections are
  // all being answered).
  Member* oldest_idle_of_heaviest() const;
  Member* oldest_idle(const ClientKey& key) const;
  // The oldest unfinished TLS handshake of the client with the most of them.
  Member* oldest_handshake_of_heaviest() const;
  Member* oldest_handshake(const ClientKey& key) const;

 private:
  struct KeyHash {
    size_t operator()(const ClientKey& k) const noexcept;
  };
  struct Client {
    ClientKey key;
    std::list<Member*> members;     // oldest first
    std::list<Member*> handshakes;  // oldest first
  };
  struct Bucket {
    double tokens;
    uint64_t at_ns;
  };
  // Apart from clients_: spent tokens must outlive the client's connections, or closing
  // them all would refill the bucket. Full buckets are forgotten when there are too many.
  static constexpr size_t kMaxBuckets = 1024;
  static Member* oldest_idle(const Client& c);

  std::unordered_map<ClientKey, Client, KeyHash> clients_;
  std::unordered_map<ClientKey, Bucket, KeyHash> buckets_;
};

}  // namespace pingmesh
