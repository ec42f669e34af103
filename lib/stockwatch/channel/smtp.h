#pragma once
/// E-mail for the `mailto:` target: the RFC 5322 message (pure) and an
/// SMTP channel over libcurl (STARTTLS required on smtp://, implicit TLS on
/// smtps://, password or XOAUTH2). CURL handles stay in smtp.cc.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stockwatch/channel/message.h"

namespace stockwatch {

/// "Stock Alerts <alerts@example.org>" or "alerts@example.org".
struct Mailbox {
  std::string display;  // "" when none
  std::string address;
};
/// Parses a mailbox; nullopt when the address is not valid (IsValidEmail)
/// or the text holds CR/LF.
std::optional<Mailbox> ParseMailbox(std::string_view s);
/// The mailbox as a header value: "Name <addr>" (the name quoted or
/// RFC 2047-encoded when needed) or "<addr>".
std::string FormatMailbox(const Mailbox& m);

/// RFC 5322 date in UTC: "Fri, 27 Nov 2026 14:30:00 +0000".
std::string FormatRfc5322Date(TimeMs t);
/// A header value: as is when printable ASCII, else one RFC 2047
/// "=?UTF-8?B?...?=" word. CR and LF never survive.
std::string EncodeHeaderValue(std::string_view s);

struct EmailParts {
  Mailbox from;
  std::string to;  // the recipient address
  std::string subject;
  std::string body;  // '\n' line ends; converted to CRLF
  TimeMs date = 0;
  std::string message_id;                  // without angle brackets: "ID@domain"
  std::vector<std::string> extra_headers;  // "Name: value"
};
/// The message as sent: Date, From, To, Subject, Message-ID, MIME-Version,
/// Content-Type text/plain; charset=utf-8, Content-Transfer-Encoding (7bit
/// or 8bit), Auto-Submitted, extra headers, a blank line and the body, all
/// with CRLF line ends. Dot-stuffing is left to the SMTP client (libcurl).
std::string BuildEmail(const EmailParts& parts);

/// The mail for one message (one alert or a digest) of the mailto: target.
std::string BuildAlertEmail(const Message& m, const Mailbox& from, TimeMs now);

/// What an SMTP attempt's outcome means: `curl_code` (CURLcode), the last
/// SMTP reply code (0 when none) and libcurl's error text.
SendResult ClassifySmtp(int curl_code, long smtp_code, std::string_view error);

/// True for 127.0.0.1, ::1 and localhost: the only hosts --smtp-insecure allows.
bool IsLoopbackHost(std::string_view host);

/// The `mailto:` channel. Throws Error(78) for a missing or malformed
/// --smtp / --mail-from, or --smtp-insecure with a non-loopback host.
std::unique_ptr<Channel> MakeSmtpChannel(const Target& target, const ChannelOptions& opts);

}  // namespace stockwatch
