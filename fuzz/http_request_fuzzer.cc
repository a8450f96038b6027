// Bytes as what an HTTP client sends (net::HttpRequestParser, the server's
// reader): read whole, and again in pieces of a size the first byte picks.
// Both readings must give the same requests and the same refusal, every
// refusal a status the server answers with and one line naming the fault,
// and every request within the limits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "net/http.h"
#include "net/http_parser.h"

namespace {

using etcdpp::net::HttpRequest;
using etcdpp::net::HttpRequestParser;
using etcdpp::net::HttpServerOptions;

HttpServerOptions Options() {
  HttpServerOptions options;
  // Small limits, so inputs reach them.
  options.max_header_bytes = 256;
  options.max_body_bytes = 128;
  return options;
}

// What a reading gave: one line per request, then the refusal if any.
std::vector<std::string> Read(std::string_view data, size_t piece) {
  HttpRequestParser parser(Options());
  std::vector<std::string> out;
  while (!data.empty()) {
    const std::string_view next = data.substr(0, piece);
    size_t consumed = 0;
    const HttpRequestParser::Result r = parser.Feed(next, &consumed);
    CHECK_LE(consumed, next.size()) << "the parser consumes what it was given";
    if (r == HttpRequestParser::Result::kError) {
      const int status = parser.error().status;
      CHECK(status == 400 || status == 413 || status == 431 || status == 501 ||
            status == 505)
          << "a refusal is a status the server answers with: " << status;
      const std::string& message = parser.error().message;
      CHECK(!message.empty() && message.find('\n') == std::string::npos &&
            message.find('\r') == std::string::npos)
          << "a refusal names the fault in one line: " << message;
      out.push_back("error " + std::to_string(status) + " " + message);
      return out;
    }
    if (r == HttpRequestParser::Result::kIncomplete) {
      CHECK_EQ(consumed, next.size()) << "an incomplete read takes every byte";
    } else {
      const HttpRequest request = parser.TakeRequest();
      CHECK(!request.method.empty()) << "a request has a method";
      CHECK(!request.path.empty()) << "a request has a path";
      CHECK_LE(request.body.size(), Options().max_body_bytes)
          << "bodies stay within the limit";
      std::string line = request.method + " " + request.target + " " +
                         std::to_string(request.minor_version);
      for (const auto& [name, value] : request.headers) {
        CHECK(etcdpp::net::IsHttpToken(name)) << "header names are tokens";
        line += " " + name + ":" + value;
      }
      out.push_back(line + " body=" + request.body);
    }
    data.remove_prefix(consumed);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + bytes[0] % 16;
  const std::string_view data(reinterpret_cast<const char*>(bytes) + 1,
                              size - 1);
  const std::vector<std::string> whole = Read(data, data.size() + 1);
  const std::vector<std::string> pieces = Read(data, piece);
  CHECK(whole == pieces) << "the same bytes in pieces read the same";
  return 0;
}
