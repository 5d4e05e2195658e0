// What HTTP sees of a connection: a channel that turns network bytes into plaintext
// and plaintext into network bytes. Plain TCP passes bytes through; TLS encrypts.
// The probe and the responder never know which one they hold.
#pragma once

#include <cstddef>
#include <string_view>

#include "pingmesh/sample.hpp"

namespace pingmesh {

class Channel {
 public:
  // Where ciphertext (or plain bytes) go: the TCP stream.
  class Wire {
   public:
    virtual int send_raw(std::string_view bytes) = 0;

   protected:
    ~Wire() = default;
  };
  // Where plaintext goes.
  class Reader {
   public:
    virtual void on_plain(const char* data, size_t len) = 0;

   protected:
    ~Reader() = default;
  };
  struct Progress {
    bool became_ready = false;  // the handshake ended with these bytes
    FailureReason error = FailureReason::none;
    bool closed = false;  // the peer ended the session cleanly (close_notify)
  };

  virtual ~Channel() = default;
  // Begins the session once TCP is connected; true if ready at once (no handshake).
  virtual bool start() = 0;
  // Bytes from the network.
  virtual Progress receive(const char* data, size_t len, Reader& reader) = 0;
  // Plaintext to send; only once ready.
  virtual int send(std::string_view plain) = 0;
  virtual bool ready() const = 0;
};

class PlainChannel final : public Channel {
 public:
  explicit PlainChannel(Wire& wire) : wire_(wire) {}
  bool start() override { return true; }
  Progress receive(const char* data, size_t len, Reader& reader) override {
    reader.on_plain(data, len);
    return {};
  }
  int send(std::string_view plain) override { return wire_.send_raw(plain); }
  bool ready() const override { return true; }

 private:
  Wire& wire_;
};

}  // namespace pingmesh
