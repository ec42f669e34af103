#pragma once
// Test fixture: a real SQLite store in a temp dir, removed afterwards.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "stockwatch/store/store.h"

namespace stockwatch::test {

class TempStore {
 public:
  TempStore() {
    std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid()));
    dir_ = std::filesystem::temp_directory_path() / ("sw-test-store-" + std::to_string(rng()));
    std::filesystem::create_directories(dir_);
    store_ = Store::Open("sqlite:" + (dir_ / "t.db").string());
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Store& store() { return *store_; }
  Commands& commands() { return store_->commands(); }
  Queries& queries() { return store_->queries(); }

  void AddUser(const std::string& email, std::optional<int64_t> chat, int64_t interval = 0) {
    Outcome o = commands().Execute("", [&](CommandTx& tx) {
      User u;
      u.email = email;
      u.telegram_id = chat;
      u.interval = interval;
      tx.AddUser(u);
      return Outcome{};
    });
    REQUIRE(o.exit_code == 0);
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace stockwatch::test
