#include "tests/support/oci/model_runner.h"

#include <signal.h>

#include <chrono>
#include <thread>

namespace gantry::testing::oci {

namespace mo = gantry::model::oci;

namespace {

constexpr int kSettleMs = 5000;

mo::Outcome from_command(const Result<Outcome>& r, const std::string& what, std::string& log) {
  if (!r) {
    log += what + ": " + r.error().to_string() + "\n";
    return mo::Outcome::failure(ErrorKind::unavailable);
  }
  if (!r->ok()) {
    log += what + ": " + r->describe() + "\n";
    return mo::Outcome::failure(ErrorKind::internal);
  }
  return mo::Outcome::success();
}

// The name runtimes take on their command line: "KILL" for 9.
std::string signal_arg(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev != nullptr ? std::string(abbrev) : std::to_string(signo);
}

}  // namespace

int status_number(const runtime::sys::ExitStatus& status) {
  return status.exited ? status.exit_code : 128 + status.term_signal;
}

bool agree(const mo::Outcome& expected, const mo::Outcome& actual) {
  if (expected.ok() != actual.ok()) return false;
  if (!expected.ok()) return true;
  return expected.state == actual.state && expected.exit_status == actual.exit_status &&
         expected.output == actual.output;
}

mo::Outcome ModelRunner::run(const mo::OciOp& op, const mo::OciModel& model_after,
                             std::string& log) {
  mo::Outcome out = std::visit(
      [&](const auto& o) -> mo::Outcome {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, mo::Create>) {
          return create(o, log);
        } else if constexpr (std::is_same_v<T, mo::Start>) {
          return from_command(driver_.start(o.id), "start " + o.id, log);
        } else if constexpr (std::is_same_v<T, mo::Kill>) {
          return from_command(driver_.kill(o.id, signal_arg(o.signal), o.all),
                              "kill " + o.id + " " + signal_arg(o.signal), log);
        } else if constexpr (std::is_same_v<T, mo::Delete>) {
          return from_command(driver_.remove(o.id, o.force),
                              std::string("delete ") + (o.force ? "--force " : "") + o.id, log);
        } else if constexpr (std::is_same_v<T, mo::Pause>) {
          return from_command(driver_.pause(o.id), "pause " + o.id, log);
        } else if constexpr (std::is_same_v<T, mo::Resume>) {
          return from_command(driver_.resume(o.id), "resume " + o.id, log);
        } else if constexpr (std::is_same_v<T, mo::State>) {
          auto st = driver_.state(o.id);
          if (!st) {
            log += "state " + o.id + ": " + st.error().to_string() + "\n";
            return mo::Outcome::failure(ErrorKind::internal);
          }
          auto s = api::container_state_from_string(st->status);
          if (!s) {
            log += "state " + o.id + ": unknown status '" + st->status + "'\n";
            return mo::Outcome::failure(ErrorKind::invalid_argument);
          }
          mo::Outcome r;
          r.state = *s;
          return r;
        } else if constexpr (std::is_same_v<T, mo::Exec>) {
          return exec(o, log);
        } else if constexpr (std::is_same_v<T, mo::Wait>) {
          return wait(o, model_after, log);
        }
      },
      op);
  settle(model_after);
  return out;
}

mo::Outcome ModelRunner::create(const mo::Create& op, std::string& log) {
  BundleOptions options;
  options.test_init_args = op.args;
  options.readonly_root = false;  // test_init `write`s under /tmp
  auto bundle = Bundle::make(options);
  if (!bundle) {
    log += "bundle for " + op.id + ": " + bundle.error().to_string() + "\n";
    return mo::Outcome::failure(ErrorKind::unavailable);
  }
  auto r = driver_.create(op.id, bundle->path());
  mo::Outcome out = from_command(r, "create " + op.id, log);
  // Keep the bundle while a container may use it; a failed create of an existing id keeps the
  // old one.
  if (out.ok()) bundles_[op.id] = std::make_unique<Bundle>(std::move(bundle).value());
  return out;
}

mo::Outcome ModelRunner::exec(const mo::Exec& op, std::string& log) {
  std::vector<std::string> args = {"/bin/test_init"};
  args.insert(args.end(), op.args.begin(), op.args.end());
  std::vector<std::string> flags;
  if (op.detach) flags.push_back("--detach");
  auto r = driver_.exec(op.id, args, flags);
  std::string what = std::string("exec ") + (op.detach ? "--detach " : "") + op.id;
  if (!r) {
    log += what + ": " + r.error().to_string() + "\n";
    return mo::Outcome::failure(ErrorKind::unavailable);
  }
  if (op.detach) return from_command(r, what, log);
  // A runtime's own failure is exit status 1 (runc, crun) or 255; the generators give execs
  // programs that never exit with those, so any other status is the process's.
  const int status = status_number(r->status);
  if (status == 1 || status == 255) {
    log += what + ": " + r->describe() + "\n";
    return mo::Outcome::failure(ErrorKind::internal);
  }
  mo::Outcome out;
  out.exit_status = status;
  out.output = mo::normalize_output(r->stdout_text);
  return out;
}

mo::Outcome ModelRunner::wait(const mo::Wait& op, const mo::OciModel& model_after,
                              std::string& log) {
  if (!driver_.init_pid(op.id)) {
    log += "wait " + op.id + ": no container\n";
    return mo::Outcome::failure(ErrorKind::not_found);
  }
  // The model says whether the init ends; when it says it would block, a short look is
  // enough to see whether the real one ended anyway.
  const bool blocks = model_after.wait_would_block(op.id);
  auto e = driver_.wait_init(op.id, blocks ? 200 : kSettleMs);
  if (!e) {
    log += "wait " + op.id + ": " + e.error().to_string() + "\n";
    return mo::Outcome::failure(ErrorKind::unavailable);
  }
  mo::Outcome out;
  out.exit_status = status_number(*e);
  out.output = mo::normalize_output(driver_.output(op.id));
  return out;
}

void ModelRunner::settle(const mo::OciModel& model_after) {
  for (const auto& id : model_after.ids()) {
    const mo::Container* c = model_after.container(id);
    if (c == nullptr || !driver_.init_pid(id)) continue;
    if (c->init.phase == mo::Process::Phase::exited) (void)driver_.wait_init(id, kSettleMs);
    if (!c->frozen && !c->init.output.empty()) {
      // Output is compared normalized; wait for as many lines as the model has.
      const std::string& want = c->init.output;
      const auto lines = std::count(want.begin(), want.end(), '\n');
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSettleMs);
      while (std::chrono::steady_clock::now() < deadline) {
        std::string got = driver_.output(id);
        if (std::count(got.begin(), got.end(), '\n') >= lines) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
}

void ModelRunner::cleanup() {
  driver_.cleanup();
  bundles_.clear();
}

}  // namespace gantry::testing::oci
