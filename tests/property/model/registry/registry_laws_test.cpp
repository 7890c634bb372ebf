// Laws of the registry model: a pushed blob reads back; a chunked upload equals a monolithic
// one; paginated listings concatenate to the full listing; the model is a deterministic value
// (a copy driven by the same operations answers the same); and every answer is well formed
// (a code's status, digests that hash their bytes). RapidCheck prints the seed on failure:
// RC_PARAMS="seed=<n>" reproduces it.
#include <rapidcheck.h>
#include <rapidcheck/boost_test.h>

#include <boost/test/unit_test.hpp>
#include <set>
#include <sstream>

#include "model/registry/model_registry.h"
#include "tests/conformance/registry/registry_fixtures.h"
#include "tests/conformance/registry/registry_ops_gen.h"

using namespace gantry;
using gantry::model::registry::ModelRegistry;
namespace api = gantry::api;
namespace op = gantry::api::op;
namespace fx = gantry::testing::registry;

namespace {

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::vector<api::RegistryOutcome> run_all(api::Registry& r, api::SessionBook& book,
                                          const std::vector<api::RegistryOp>& ops) {
  std::vector<api::RegistryOutcome> out;
  for (const auto& o : ops) out.push_back(api::apply(r, book, o));
  return out;
}

rc::Gen<std::string> gen_bytes() {
  return rc::gen::map(rc::gen::container<std::vector<char>>(rc::gen::arbitrary<char>()),
                      [](const std::vector<char>& v) { return std::string(v.begin(), v.end()); });
}

rc::Gen<std::string> gen_valid_repo() {
  return rc::gen::elementOf(std::vector<std::string>{"a", "b/c", "a-b", "x.y/z__w"});
}

// Follows the Link (next_last) from the first page until none; fails on a loop.
std::vector<std::string> follow_pages(api::Registry& r, api::SessionBook& book,
                                      const std::optional<std::string>& repo, uint32_t n) {
  std::vector<std::string> all;
  api::Page page{n, std::nullopt};
  for (int guard = 0; guard < 1000; ++guard) {
    api::RegistryOp o =
        repo ? api::RegistryOp(op::ListTags{*repo, page}) : api::RegistryOp(op::Catalog{page});
    auto got = api::apply(r, book, o);
    RC_ASSERT(got.ok());
    RC_ASSERT(got.entries.size() <= n);
    all.insert(all.end(), got.entries.begin(), got.entries.end());
    if (!got.next_last) return all;
    RC_ASSERT(!got.entries.empty() && *got.next_last == got.entries.back());
    page.last = got.next_last;
  }
  RC_FAIL("pagination does not end");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_laws)

RC_BOOST_PROP(a_pushed_blob_reads_back, ()) {
  ModelRegistry model;
  api::SessionBook book;
  std::string repo = *gen_valid_repo();
  std::string bytes = *gen_bytes();
  std::string d = fx::digest_of(bytes);
  auto pushed = api::apply(model, book, op::PushBlob{repo, d, bytes});
  RC_ASSERT(pushed.http_status == 201);
  RC_ASSERT(pushed.digest == d);
  auto got = api::apply(model, book, op::GetBlob{repo, d, std::nullopt});
  RC_ASSERT(got.bytes == bytes);
  RC_ASSERT(api::apply(model, book, op::StatBlob{repo, d}).size_bytes == bytes.size());
  if (!bytes.empty()) {
    uint64_t first = *rc::gen::inRange<uint64_t>(0, bytes.size());
    uint64_t last = first + *rc::gen::inRange<uint64_t>(0, bytes.size() + 3);
    auto part = api::apply(model, book, op::GetBlob{repo, d, api::ByteRange{first, last}});
    RC_ASSERT(part.http_status == 206);
    RC_ASSERT(part.bytes == bytes.substr(first, last - first + 1));
  }
}

RC_BOOST_PROP(a_chunked_upload_equals_a_monolithic_one, ()) {
  std::string repo = *gen_valid_repo();
  std::string bytes = *gen_bytes();
  std::string d = fx::digest_of(bytes);
  std::vector<size_t> cuts =
      *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(0, bytes.size() + 1));
  cuts.push_back(0);
  cuts.push_back(bytes.size());
  std::sort(cuts.begin(), cuts.end());
  bool last_in_put = *rc::gen::arbitrary<bool>();

  ModelRegistry chunked, mono;
  api::SessionBook cb, mb;
  RC_ASSERT(api::apply(chunked, cb, op::StartUpload{repo}).http_status == 202);
  size_t end = last_in_put ? cuts.size() - 2 : cuts.size() - 1;
  for (size_t i = 0; i < end; ++i) {
    auto got =
        api::apply(chunked, cb,
                   op::UploadChunk{repo, 0, cuts[i], bytes.substr(cuts[i], cuts[i + 1] - cuts[i])});
    RC_ASSERT(got.http_status == 202);
    RC_ASSERT(got.size_bytes == cuts[i + 1]);
  }
  std::string tail = last_in_put ? bytes.substr(cuts[cuts.size() - 2]) : "";
  auto done = api::apply(chunked, cb, op::CompleteUpload{repo, 0, d, tail});
  auto pushed = api::apply(mono, mb, op::PushBlob{repo, d, bytes});
  RC_ASSERT(done == pushed);
  auto a = api::apply(chunked, cb, op::GetBlob{repo, d, std::nullopt});
  auto b = api::apply(mono, mb, op::GetBlob{repo, d, std::nullopt});
  RC_ASSERT(a == b);
}

RC_BOOST_PROP(paginated_listings_concatenate_to_the_full_listing, ()) {
  ModelRegistry model;
  api::SessionBook book;
  auto tag_list = *rc::gen::container<std::vector<std::string>>(fx::gen_tag());
  std::set<std::string> tags(tag_list.begin(), tag_list.end());
  std::string repo = "r";
  RC_ASSERT(fx::push_image(model, repo, fx::ImageSpec{}, "seed").has_value());
  for (const auto& t : tags) RC_ASSERT(fx::push_image(model, repo, fx::ImageSpec{}, t).has_value());
  auto repos = *rc::gen::container<std::vector<std::string>>(gen_valid_repo());
  for (const auto& r : repos)
    RC_ASSERT(api::apply(model, book, op::PushBlob{r, fx::digest_of("x"), "x"}).ok());
  uint32_t n = *rc::gen::inRange<uint32_t>(1, 6);

  auto full = api::apply(model, book, op::ListTags{repo, {}});
  RC_ASSERT(std::is_sorted(full.entries.begin(), full.entries.end()));
  RC_ASSERT(follow_pages(model, book, repo, n) == full.entries);
  auto catalog = api::apply(model, book, op::Catalog{{}});
  RC_ASSERT(follow_pages(model, book, std::nullopt, n) == catalog.entries);
}

RC_BOOST_PROP(a_copy_driven_by_the_same_ops_answers_the_same, ()) {
  auto prefix = *rc::gen::container<std::vector<api::RegistryOp>>(fx::gen_registry_op());
  auto suffix = *rc::gen::container<std::vector<api::RegistryOp>>(fx::gen_registry_op());
  ModelRegistry model;
  api::SessionBook book;
  run_all(model, book, prefix);
  ModelRegistry copy = model;
  api::SessionBook copy_book = book;
  auto a = run_all(model, book, suffix);
  auto b = run_all(copy, copy_book, suffix);
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i])) RC_FAIL(show(suffix[i]) + ": " + show(a[i]) + " vs copy " + show(b[i]));
  // And a fresh model replaying everything answers the same as well.
  ModelRegistry fresh;
  api::SessionBook fresh_book;
  run_all(fresh, fresh_book, prefix);
  RC_ASSERT(run_all(fresh, fresh_book, suffix) == a);
}

RC_BOOST_PROP(every_answer_is_well_formed, ()) {
  auto ops = *rc::gen::container<std::vector<api::RegistryOp>>(fx::gen_registry_op());
  ModelRegistry model;
  api::SessionBook book;
  for (const auto& o : ops) {
    auto got = api::apply(model, book, o);
    std::string what = show(o) + " -> " + show(got);
    if (got.error) {
      bool oversized = *got.error == api::RegistryErrorCode::size_invalid && got.http_status == 413;
      if (!oversized && got.http_status != api::default_http_status(*got.error)) RC_FAIL(what);
      continue;
    }
    if (got.http_status < 200 || got.http_status > 299) RC_FAIL(what);
    if (got.bytes && got.digest && got.http_status == 200 &&
        fx::digest_of(*got.bytes) != *got.digest)
      RC_FAIL("bytes do not hash to the digest: " + what);
    if (const auto* list = std::get_if<op::ListTags>(&o)) {
      if (!std::is_sorted(got.entries.begin(), got.entries.end())) RC_FAIL(what);
      if (list->page.n && got.entries.size() > *list->page.n) RC_FAIL(what);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
