// Result<T>: a value or an Error, shaped like std::expected (C++23) and never silently dropped.
//
//   Result<int> parse(std::string_view s);
//   GANTRY_ASSIGN_OR_RETURN(int n, parse(s));                // propagate as is
//   GANTRY_ASSIGN_OR_RETURN_CTX(int n, parse(s), "port");    // propagate with context
//   GANTRY_TRY(write_all(fd, data));                         // Result<void>
//   GANTRY_TRY_CTX(fsync_dir(dir), "commit " + path);        // context built only on failure
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "model/base/error.h"

namespace gantry {

template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT: implicit by design
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <class U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result>)
  Result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(v_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : T(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  void value() const { assert(has_value()); }
  const Error& error() const& { assert(failed_); return error_; }
  Error&& error() && { assert(failed_); return std::move(error_); }

 private:
  Error error_{ErrorKind::internal, ""};
  bool failed_ = false;
};

inline Result<void> ok() { return {}; }

namespace detail {
template <class T>
Error take_error(Result<T>&& r) { return std::move(r).error(); }
}  // namespace detail

}  // namespace gantry

#define GANTRY_CONCAT_INNER_(a, b) a##b
#define GANTRY_CONCAT_(a, b) GANTRY_CONCAT_INNER_(a, b)

#define GANTRY_TRY(expr)                                                          \
  do {                                                                            \
    auto&& gantry_try_r_ = (expr);                                                \
    if (!gantry_try_r_) return ::gantry::detail::take_error(std::move(gantry_try_r_)); \
  } while (0)

#define GANTRY_TRY_CTX(expr, context)                                             \
  do {                                                                            \
    auto&& gantry_try_r_ = (expr);                                                \
    if (!gantry_try_r_)                                                           \
      return ::gantry::detail::take_error(std::move(gantry_try_r_)).with_context(context); \
  } while (0)

#define GANTRY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, ...)                        \
  auto tmp = (expr);                                                              \
  if (!tmp) return ::gantry::detail::take_error(std::move(tmp)) __VA_ARGS__;      \
  lhs = std::move(tmp).value()

#define GANTRY_ASSIGN_OR_RETURN(lhs, expr) \
  GANTRY_ASSIGN_OR_RETURN_IMPL_(GANTRY_CONCAT_(gantry_aor_, __LINE__), lhs, expr, )

#define GANTRY_ASSIGN_OR_RETURN_CTX(lhs, expr, context)                                 \
  GANTRY_ASSIGN_OR_RETURN_IMPL_(GANTRY_CONCAT_(gantry_aor_, __LINE__), lhs, expr, \
                                .with_context(context))
