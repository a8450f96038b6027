// Reads HTTP/1.1 requests (RFC 9112) from bytes that arrive in pieces of
// any size. Internal to //net:http: the server feeds it what a connection
// receives; the helpers are shared with the server's response writer.
#ifndef ETCDPP_NET_HTTP_PARSER_H_
#define ETCDPP_NET_HTTP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http.h"

namespace etcdpp::net {

// A request the server answers itself: the status and a one-line reason.
struct HttpError {
  int status = 0;
  std::string message;
};

// Reads one request at a time from bytes that arrive in pieces of any size
// (RFC 9112): the request line, header fields, then a body by Content-Length
// or chunked. Lines may end in CRLF or a bare LF (§2.2 allows it).
class HttpRequestParser {
 public:
  enum class Result { kIncomplete, kComplete, kError };

  explicit HttpRequestParser(const HttpServerOptions& options)
      : options_(options) {}

  // Consumes bytes from the front of `data` until a request is complete or
  // found faulty (then error() says why); *consumed says how many. On
  // kIncomplete every byte was consumed.
  Result Feed(std::string_view data, size_t* consumed);
  // The complete request; the parser then reads the next.
  HttpRequest TakeRequest();
  const HttpError& error() const { return error_; }
  // Whether part of a request has arrived.
  bool started() const {
    return stage_ != Stage::kRequestLine || header_bytes_ > 0;
  }
  // True once when the header section asked for "100 Continue" and its body
  // is still to come.
  bool TakeContinue() { return std::exchange(continue_pending_, false); }

 private:
  enum class Stage {
    kRequestLine,
    kHeaders,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkEnd,
    kTrailers,
    kDone,
    kFailed,
  };

  Result Fail(int status, std::string message) {
    stage_ = Stage::kFailed;
    error_ = {status, std::move(message)};
    return Result::kError;
  }
  Result Complete() {
    stage_ = Stage::kDone;
    return Result::kComplete;
  }
  // Appends the next piece of a line (with its '\n', if it came) to line_;
  // false (and failed) when the line or the section it belongs to grew over
  // its limit.
  bool AppendLinePiece(std::string_view piece);
  Result TakeBody(std::string_view data, size_t* pos);
  Result OnLine(std::string_view line);
  // These return kIncomplete when all is well so far.
  Result OnRequestLine(std::string_view line);
  Result OnVersion(std::string_view version);
  Result OnTarget(std::string_view target);
  Result OnHeader(std::string_view line);
  Result OnHeadersEnd();
  Result StartChunked(const std::vector<std::string>& codings);
  Result StartLength(const std::vector<std::string_view>& lengths);
  Result OnChunkSize(std::string_view line);
  void MaybeExpectContinue();

  const HttpServerOptions options_;
  Stage stage_ = Stage::kRequestLine;
  HttpRequest request_;
  std::string line_;  // the line being read, without its end
  // Bytes of the request line and headers so far (of the trailers, in
  // kTrailers); never over options_.max_header_bytes.
  size_t header_bytes_ = 0;
  uint64_t remaining_ = 0;  // body or chunk bytes still to come
  bool continue_pending_ = false;
  HttpError error_;
};

// tchar+ (RFC 9110 §5.6.2).
bool IsHttpToken(std::string_view s);
// Field values hold visible characters, spaces, tabs and obs-text: no other
// control character, above all no CR or LF (RFC 9110 §5.5).
bool IsHttpFieldValue(std::string_view s);
// Without leading and trailing spaces and tabs (OWS).
std::string_view TrimHttpWhitespace(std::string_view s);
// ASCII only: what HTTP's names and tokens are made of. (Debian's Abseil
// has a string_view of its own, so its string functions do not take
// std::string_view.)
bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b);
std::string ToLowerAscii(std::string_view s);
// The pieces of `s` between `separator`s, empty ones included.
std::vector<std::string_view> SplitOn(std::string_view s, char separator);
// Decodes %XX escapes into *out, and '+' as a space in a form. A malformed
// escape is kept as it is and makes the result false.
bool PercentDecode(std::string_view in, bool form, std::string* out);

}  // namespace etcdpp::net

#endif  // ETCDPP_NET_HTTP_PARSER_H_
