#pragma once
// Every output is written under a temporary name beside its destination and
// renamed only when complete, so a failed or interrupted run never leaves a
// half-written file where a good one (or nothing) used to be.
#include <fstream>
#include <string>

namespace kvsim {

class AtomicFile {
 public:
  explicit AtomicFile(std::string final_path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary file unless commit() succeeded

  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }
  void commit();  // rename(temp, final); throws InputError on failure

 private:
  std::string final_path_;
  std::string temp_path_;
  bool committed_ = false;
};

// A file written piece by piece (a corpus's results.csv, one dump at a
// time, so no process holds the whole table) under its temporary name, and
// renamed by commit(); dropped without commit(), nothing replaces `path`.
class AtomicTextWriter {
 public:
  explicit AtomicTextWriter(const std::string& path);
  void append(const std::string& text);  // InputError naming the file when the write fails
  void commit();                          // flush, check, rename
  const std::string& path() const { return file_.final_path(); }

 private:
  AtomicFile file_;
  std::ofstream out_;
};

// Writes `content` to `path` atomically.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace kvsim
