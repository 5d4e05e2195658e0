#include "curl/curl_multi.hpp"

namespace pingmesh {

CurlMulti::CurlMulti(Loop& loop, const CurlApi& api)
    : loop_(loop),
      api_(api),
      multi_(api.multi_init()),
      timer_(loop, [this] { act(CURL_SOCKET_TIMEOUT, 0); }) {
  api_.multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
  api_.multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  api_.multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
  api_.multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() {
  for (auto& [easy, done] : transfers_) api_.multi_remove_handle(multi_, easy);
  transfers_.clear();
  api_.multi_cleanup(multi_);
  polls_.clear();
}

bool CurlMulti::add(CURL* easy, Done done) {
  transfers_[easy] = std::move(done);
  if (api_.multi_add_handle(multi_, easy) == CURLM_OK) return true;  // curl arms its timer
  transfers_.erase(easy);
  return false;
}

void CurlMulti::remove(CURL* easy) {
  if (transfers_.erase(easy)) api_.multi_remove_handle(multi_, easy);
}

// curl's callback: only record what to watch; never call back into curl from here.
int CurlMulti::on_socket(CURL*, curl_socket_t fd, int what, void* data, void*) noexcept {
  auto* self = static_cast<CurlMulti*>(data);
  if (what == CURL_POLL_REMOVE) {
    self->polls_.erase(fd);
    return 0;
  }
  auto& poll = self->polls_[fd];
  if (!poll)
    poll = std::make_unique<Poll>(self->loop_, fd, [self, fd](int status, int events) {
      int mask = status < 0 ? CURL_CSELECT_ERR : 0;
      if (events & UV_READABLE) mask |= CURL_CSELECT_IN;
      if (events & UV_WRITABLE) mask |= CURL_CSELECT_OUT;
      self->act(fd, mask);
    });
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  // A socket we cannot watch fails its transfer at once rather than at its timeout.
  return poll->start(events) == 0 ? 0 : -1;
}

int CurlMulti::on_timer(CURLM*, long timeout_ms, void* data) noexcept {
  auto* self = static_cast<CurlMulti*>(data);
  if (timeout_ms < 0)
    self->timer_.stop();
  else
    self->timer_.start(uint64_t(timeout_ms));  // 0: on the next loop turn, not from here
  return 0;
}

void CurlMulti::act(curl_socket_t fd, int events) {
  int still_running = 0;
  api_.multi_socket_action(multi_, fd, events, &still_running);
  finish_done();
}

// After curl_multi_socket_action has returned: report finished transfers.
void CurlMulti::finish_done() {
  int left = 0;
  while (CURLMsg* msg = api_.multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    api_.multi_remove_handle(multi_, easy);
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) continue;
    Done done = std::move(it->second);
    transfers_.erase(it);
    if (done) done(easy, result);
  }
}

}  // namespace pingmesh
