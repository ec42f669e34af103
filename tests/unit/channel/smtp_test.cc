// smtp.h: mailboxes, RFC 5322 dates and headers, the alert e-mail, and how
// SMTP outcomes are classified.
#include "stockwatch/channel/smtp.h"

#include <string>

#include <curl/curl.h>
#include <doctest/doctest.h>

namespace sw = stockwatch;

namespace {

sw::Alert SampleAlert(std::string ticker = "AAPL") {
  sw::Alert a;
  a.email = "alice@example.com";
  a.ticker = std::move(ticker);
  a.condition = sw::Condition::kBelow;
  a.price = 189.52;
  a.threshold = 190;
  a.low = 190;
  a.high = 205;
  a.ts = *sw::ParseRfc3339("2025-06-13T14:15:00Z");
  a.id = sw::AlertId(a.email, a.ticker, a.condition, a.ts);
  return a;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("ParseMailbox: bare, angle and named forms") {
  auto m = sw::ParseMailbox("alerts@example.org");
  REQUIRE(m);
  CHECK(m->address == "alerts@example.org");
  CHECK(m->display.empty());
  m = sw::ParseMailbox("  Stock Alerts <alerts@example.org> ");
  REQUIRE(m);
  CHECK(m->display == "Stock Alerts");
  CHECK(m->address == "alerts@example.org");
  m = sw::ParseMailbox("\"Alerts, Inc.\" <a@example.org>");
  REQUIRE(m);
  CHECK(m->display == "Alerts, Inc.");
  CHECK_FALSE(sw::ParseMailbox("not an address"));
  CHECK_FALSE(sw::ParseMailbox("A <a@example.org>\r\nBcc: x@example.org"));
  CHECK_FALSE(sw::ParseMailbox("A <a@example.org"));
}

TEST_CASE("FormatMailbox: quoting and encoding of display names") {
  CHECK(sw::FormatMailbox({"", "a@example.org"}) == "<a@example.org>");
  CHECK(sw::FormatMailbox({"Stock Alerts", "a@example.org"}) == "Stock Alerts <a@example.org>");
  CHECK(sw::FormatMailbox({"Alerts, Inc.", "a@example.org"}) == "\"Alerts, Inc.\" <a@example.org>");
  CHECK(sw::FormatMailbox({"Börse", "a@example.org"}) == "=?UTF-8?B?QsO2cnNl?= <a@example.org>");
}

TEST_CASE("FormatRfc5322Date: UTC with weekday and zone") {
  CHECK(sw::FormatRfc5322Date(*sw::ParseRfc3339("2025-06-13T14:20:00Z")) ==
        "Fri, 13 Jun 2025 14:20:00 +0000");
  CHECK(sw::FormatRfc5322Date(*sw::ParseRfc3339("2026-11-27T09:05:07.900Z")) ==
        "Fri, 27 Nov 2026 09:05:07 +0000");
  CHECK(sw::FormatRfc5322Date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST_CASE("EncodeHeaderValue: ASCII as is, UTF-8 as encoded words, no header injection") {
  CHECK(sw::EncodeHeaderValue("AAPL above 200") == "AAPL above 200");
  CHECK(sw::EncodeHeaderValue("x\r\nBcc: evil@example.org") == "x  Bcc: evil@example.org");
  CHECK(sw::EncodeHeaderValue("€") == "=?UTF-8?B?4oKs?=");
  std::string long_utf8;
  for (int i = 0; i < 40; ++i) long_utf8 += "€";  // 120 bytes
  std::string enc = sw::EncodeHeaderValue(long_utf8);
  CHECK(Count(enc, "=?UTF-8?B?") == 3);  // 45-byte chunks cut on character boundaries
  CHECK(enc.find('\n') == std::string::npos);
}

TEST_CASE("BuildEmail: headers, CRLF line ends, body") {
  sw::EmailParts p;
  p.from = {"Stock Alerts", "alerts@example.org"};
  p.to = "alice@example.net";
  p.subject = "AAPL below 190";
  p.body = "line one\nline two\n.dot line\n";
  p.date = *sw::ParseRfc3339("2025-06-13T14:20:00Z");
  p.message_id = "abc.stockwatch@example.org";
  std::string m = sw::BuildEmail(p);
  CHECK(m.rfind("Date: Fri, 13 Jun 2025 14:20:00 +0000\r\n", 0) == 0);
  CHECK(m.find("\r\nFrom: Stock Alerts <alerts@example.org>\r\n") != std::string::npos);
  CHECK(m.find("\r\nTo: <alice@example.net>\r\n") != std::string::npos);
  CHECK(m.find("\r\nSubject: AAPL below 190\r\n") != std::string::npos);
  CHECK(m.find("\r\nMessage-ID: <abc.stockwatch@example.org>\r\n") != std::string::npos);
  CHECK(m.find("\r\nMIME-Version: 1.0\r\n") != std::string::npos);
  CHECK(m.find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  CHECK(m.find("\r\nContent-Transfer-Encoding: 7bit\r\n") != std::string::npos);
  CHECK(m.find("\r\n\r\nline one\r\nline two\r\n.dot line\r\n") != std::string::npos);
  // Every '\n' is part of a CRLF.
  CHECK(Count(m, "\n") == Count(m, "\r\n"));
  p.body = "Kurs: 10 €";
  CHECK(sw::BuildEmail(p).find("Content-Transfer-Encoding: 8bit\r\n") != std::string::npos);
}

TEST_CASE("BuildAlertEmail: To the user, Subject the ticker, the condition in the body") {
  sw::Message msg;
  msg.email = "alice@example.com";
  msg.alerts.push_back(SampleAlert());
  sw::Mailbox from{"Stock Alerts", "alerts@example.org"};
  std::string m = sw::BuildAlertEmail(msg, from, *sw::ParseRfc3339("2025-06-13T14:20:00Z"));
  CHECK(m.find("\r\nTo: <alice@example.com>\r\n") != std::string::npos);
  CHECK(m.find("\r\nSubject: AAPL below 190\r\n") != std::string::npos);
  CHECK(m.find("AAPL is below your low of 190: price 189.52") != std::string::npos);
  CHECK(m.find("Your band: [190, 205].") != std::string::npos);
  CHECK(m.find("Message-ID: <" + msg.alerts[0].id + ".stockwatch@example.org>") !=
        std::string::npos);
  CHECK(m.find("X-Stockwatch-Alert-Ids: " + msg.alerts[0].id + "\r\n") != std::string::npos);

  msg.alerts.push_back(SampleAlert("MSFT"));
  m = sw::BuildAlertEmail(msg, from, 0);
  CHECK(m.find("\r\nSubject: 2 alerts: AAPL, MSFT\r\n") != std::string::npos);
  CHECK(m.find("Message-ID: <" + msg.alerts[0].id + "-d2.stockwatch@example.org>") !=
        std::string::npos);
  CHECK(m.find("MSFT is below your low of 190") != std::string::npos);
}

TEST_CASE("ClassifySmtp: credentials, TLS, permanent and temporary failures") {
  CHECK(sw::ClassifySmtp(CURLE_OK, 250, "").status == sw::SendStatus::kOk);
  sw::SendResult r = sw::ClassifySmtp(CURLE_LOGIN_DENIED, 535, "Login denied");
  CHECK(r.status == sw::SendStatus::kFatal);
  CHECK(r.exit_code == sw::exitcode::kNoPerm);
  CHECK(r.error.find("authentication failed") != std::string::npos);
  CHECK(r.error.find("535") != std::string::npos);
  r = sw::ClassifySmtp(CURLE_USE_SSL_FAILED, 0, "STARTTLS not supported.");
  CHECK(r.status == sw::SendStatus::kFatal);
  CHECK(r.exit_code == sw::exitcode::kConfig);
  CHECK(r.error.find("STARTTLS") != std::string::npos);
  CHECK(sw::ClassifySmtp(CURLE_PEER_FAILED_VERIFICATION, 0, "").exit_code == sw::exitcode::kConfig);
  CHECK(sw::ClassifySmtp(CURLE_SEND_ERROR, 530, "").status == sw::SendStatus::kFatal);
  CHECK(sw::ClassifySmtp(CURLE_SEND_ERROR, 550, "RCPT failed").status ==
        sw::SendStatus::kPermanent);
  CHECK(sw::ClassifySmtp(CURLE_SEND_ERROR, 451, "try later").status == sw::SendStatus::kRetry);
  CHECK(sw::ClassifySmtp(CURLE_COULDNT_CONNECT, 0, "refused").status == sw::SendStatus::kRetry);
  CHECK(sw::ClassifySmtp(CURLE_OPERATION_TIMEDOUT, 0, "").status == sw::SendStatus::kRetry);
  CHECK(sw::ClassifySmtp(CURLE_GOT_NOTHING, 0, "").status == sw::SendStatus::kRetry);
}

TEST_CASE("MakeSmtpChannel: STARTTLS unless --smtp-insecure to a loopback host") {
  sw::Target t = sw::ParseTarget("mailto:");
  sw::ChannelOptions o;
  o.mail_from = "alerts@example.org";
  auto code = [&]() {
    try {
      sw::MakeSmtpChannel(t, o);
      return 0;
    } catch (const sw::Error& e) {
      return e.exit_code();
    }
  };
  CHECK(code() == sw::exitcode::kConfig);  // no --smtp
  o.smtp_url = "smtp://bob@mail.example.org:587";
  CHECK(code() == 0);
  o.smtp_insecure = true;
  CHECK(code() == sw::exitcode::kConfig);  // insecure only for loopback
  o.smtp_url = "smtp://127.0.0.1:8025";
  CHECK(code() == 0);
  o.smtp_url = "smtp://localhost:8025";
  CHECK(code() == 0);
  o.smtp_url = "smtps://bob@mail.example.org:465";
  CHECK(code() == sw::exitcode::kConfig);  // insecure makes no sense with implicit TLS
  o.smtp_insecure = false;
  CHECK(code() == 0);
  o.smtp_url = "smtp://bob:hunter2@mail.example.org:587";  // password belongs in the env/file
  CHECK(code() == sw::exitcode::kConfig);
  o.smtp_url = "imap://mail.example.org";
  CHECK(code() == sw::exitcode::kConfig);
  o.smtp_url = "smtp://mail.example.org";
  o.mail_from = "nobody";
  CHECK(code() == sw::exitcode::kConfig);
  CHECK(sw::IsLoopbackHost("127.0.0.1"));
  CHECK(sw::IsLoopbackHost("[::1]"));
  CHECK(sw::IsLoopbackHost("localhost"));
  CHECK_FALSE(sw::IsLoopbackHost("localhost.example.org"));
  CHECK_FALSE(sw::IsLoopbackHost("10.0.0.1"));
}
