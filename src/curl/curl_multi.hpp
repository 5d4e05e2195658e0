// libcurl's multi interface driven by the libuv loop: curl tells us which sockets to
// watch (CURLMOPT_SOCKETFUNCTION → one Poll each) and when to wake it
// (CURLMOPT_TIMERFUNCTION → one Timer); we call curl_multi_socket_action from the loop
// and handle finished transfers after curl's own callbacks have returned.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "curl/curl_api.hpp"
#include "loop/poll.hpp"
#include "loop/timer.hpp"

namespace pingmesh {

class CurlMulti {
 public:
  // Called once per finished transfer, with its result; the easy handle is removed from
  // the multi handle before, and is the caller's to clean up or reuse.
  using Done = std::function<void(CURL* easy, CURLcode result)>;

  CurlMulti(Loop& loop, const CurlApi& api);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // False when curl refuses the handle; done is then never called.
  [[nodiscard]] bool add(CURL* easy, Done done);
  // Abandons a transfer in progress (no Done call).
  void remove(CURL* easy);

 private:
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp) noexcept;
  static int on_timer(CURLM* multi, long timeout_ms, void* self) noexcept;
  void act(curl_socket_t fd, int events);
  void finish_done();

  Loop& loop_;
  const CurlApi& api_;
  CURLM* multi_;
  Timer timer_;
  std::map<curl_socket_t, std::unique_ptr<Poll>> polls_;
  std::map<CURL*, Done> transfers_;
};

}  // namespace pingmesh
