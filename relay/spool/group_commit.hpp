// group_commit: a completion handler stored until the journal writer has
// made its record durable, then run on the handler's own executor (never on
// the writer thread). Outstanding work is tracked so the io_context waits.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <system_error>
#include <utility>

namespace chainmail::spool {

class Waiter {
  public:
    virtual ~Waiter() = default;
    // Called once, from the writer thread.
    virtual void complete(std::error_code ec) = 0;
};

// For the ops of a group whose last op answers for all of them.
class SilentWaiter final : public Waiter {
  public:
    void complete(std::error_code) override {}
};

template <typename Handler>
class HandlerWaiter final : public Waiter {
  public:
    explicit HandlerWaiter(Handler h)
        : handler_(std::move(h)),
          work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_),
                                    boost::asio::execution::outstanding_work.tracked)) {}

    void complete(std::error_code ec) override {
        boost::asio::post(work_, [h = std::move(handler_), ec]() mutable { std::move(h)(ec); });
    }

  private:
    Handler handler_;
    decltype(boost::asio::prefer(boost::asio::get_associated_executor(std::declval<Handler&>()),
                                 boost::asio::execution::outstanding_work.tracked)) work_;
};

}  // namespace chainmail::spool
