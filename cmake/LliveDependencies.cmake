# Finds every third-party dependency; all come from Debian packages (scripts/setup).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(faiss REQUIRED)  # static libfaiss.a; its targets pull in OpenMP and BLAS
find_package(absl REQUIRED)
find_package(Boost 1.74 REQUIRED)  # header-only parts: Asio, Beast
find_package(OpenSSL 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
# OpenBLAS built on OpenMP, so that it and FAISS share one OpenMP thread pool.
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
if(LLIVE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(LLIVE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
