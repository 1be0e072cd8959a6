#include "data/corpus.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/atomic_file.h"
#include "data/batch.h"
#include "ops/errors.h"

namespace tandem::data {
namespace {

using nlohmann::json;

constexpr int64_t kTokenChunk = 1 << 14;      // elements per HDF5 chunk of token arrays
constexpr int64_t kExampleChunk = 1 << 12;    // elements per chunk of offsets/lengths
constexpr size_t kTokenCacheBytes = 1 << 20;  // HDF5 chunk cache per token dataset when reading

json side_to_json(const SideInfo& side) {
  return {{"tokenizer", kTokenizerNames.name(side.tokenizer)},
          {"vocabulary", side.vocabulary_file},
          {"sentencepiece_model", side.sentencepiece_model},
          {"vocab_size", side.vocab_size},
          {"vocab_checksum", side.vocab_checksum}};
}

SideInfo side_from_json(const json& j) {
  SideInfo side;
  side.tokenizer = kTokenizerNames.parse(j.at("tokenizer").get<std::string>());
  side.vocabulary_file = j.at("vocabulary").get<std::string>();
  side.sentencepiece_model = j.at("sentencepiece_model").get<std::string>();
  side.vocab_size = j.at("vocab_size").get<int32_t>();
  side.vocab_checksum = j.at("vocab_checksum").get<std::string>();
  return side;
}

}  // namespace

int64_t Manifest::examples(const std::string& split) const {
  int64_t total = 0;
  const auto found = splits.find(split);
  if (found != splits.end())
    for (const ShardEntry& shard : found->second) total += shard.examples;
  return total;
}

std::string Manifest::to_json() const {
  json j;
  j["format"] = "tandem-corpus";
  j["format_version"] = format_version;
  j["source"] = side_to_json(source);
  j["target"] = side_to_json(target);
  json splits_json = json::object();
  for (const auto& [split, shards] : splits) {
    json list = json::array();
    for (const ShardEntry& shard : shards)
      list.push_back({{"file", shard.file},
                      {"examples", shard.examples},
                      {"source_tokens", shard.source_tokens},
                      {"target_tokens", shard.target_tokens}});
    splits_json[split] = list;
  }
  j["splits"] = splits_json;
  j["summary"] = json::parse(summary_json.empty() ? "{}" : summary_json);
  return j.dump(2) + "\n";
}

Manifest Manifest::parse(const std::string& text, const std::string& path) {
  Manifest manifest;
  try {
    const json j = json::parse(text);
    if (j.value("format", "") != "tandem-corpus")
      throw FormatError(path + ": not a tandem corpus manifest");
    manifest.format_version = j.at("format_version").get<int64_t>();
    if (manifest.format_version != kCorpusFormatVersion)
      throw FormatError(path + ": corpus format version " +
                        std::to_string(manifest.format_version) + ", this tandem reads version " +
                        std::to_string(kCorpusFormatVersion));
    manifest.source = side_from_json(j.at("source"));
    manifest.target = side_from_json(j.at("target"));
    for (const auto& [split, list] : j.at("splits").items())
      for (const json& shard : list)
        manifest.splits[split].push_back(
            {shard.at("file").get<std::string>(), shard.at("examples").get<int64_t>(),
             shard.at("source_tokens").get<int64_t>(), shard.at("target_tokens").get<int64_t>()});
    manifest.summary_json = j.contains("summary") ? j.at("summary").dump() : "{}";
  } catch (const json::exception& error) {
    throw FormatError(path + ": malformed manifest (" + std::string(error.what()) + ")");
  } catch (const ConfigError& error) {
    throw FormatError(path + ": " + error.what());
  }
  return manifest;
}

Corpus Corpus::open(const std::string& directory) {
  if (!std::filesystem::is_directory(directory))
    throw IoError(directory + ": corpus directory does not exist");
  Corpus corpus;
  corpus.directory_ = directory;
  const std::string path = corpus.path_of(kManifestFile);
  if (!std::filesystem::exists(path))
    throw IoError(path + ": missing (not a corpus, or tandem-prep did not finish)");
  corpus.manifest_ = Manifest::parse(read_file(path), path);
  return corpus;
}

void Corpus::check_vocabularies(const std::string& source_checksum,
                                const std::string& target_checksum) const {
  if (source_checksum != manifest_.source.vocab_checksum)
    throw ConfigError("src_vocab: the model's source vocabulary (checksum " + source_checksum +
                      ") differs from " + path_of(manifest_.source.vocabulary_file) + " (" +
                      manifest_.source.vocab_checksum + ")");
  if (target_checksum != manifest_.target.vocab_checksum)
    throw ConfigError("tgt_vocab: the model's target vocabulary (checksum " + target_checksum +
                      ") differs from " + path_of(manifest_.target.vocabulary_file) + " (" +
                      manifest_.target.vocab_checksum + ")");
}

namespace {

Vocabulary load_checked(const Corpus& corpus, const SideInfo& side) {
  const std::string path = corpus.path_of(side.vocabulary_file);
  Vocabulary vocabulary = Vocabulary::load(path);
  if (vocabulary.checksum() != side.vocab_checksum)
    throw FormatError(path + ": checksum " + vocabulary.checksum() +
                      " differs from the manifest's " + side.vocab_checksum +
                      " (the file was changed after tandem-prep wrote it)");
  if (vocabulary.size() != side.vocab_size)
    throw FormatError(path + ": " + std::to_string(vocabulary.size()) +
                      " tokens, the manifest says " + std::to_string(side.vocab_size));
  return vocabulary;
}

}  // namespace

Vocabulary Corpus::source_vocabulary() const {
  return load_checked(*this, manifest_.source);
}
Vocabulary Corpus::target_vocabulary() const {
  return load_checked(*this, manifest_.target);
}

// ---------------------------------------------------------------------------------------------

ShardReader::ShardReader(const Corpus& corpus, const std::string& split, const ShardEntry& entry)
    : lock_(h5::library_mutex()),
      path_(corpus.path_of(entry.file)),
      file_(h5::open_file_readonly(path_)),
      examples_(entry.examples),
      source_(open_side("src", corpus.manifest().source.vocab_size)),
      target_(open_side("tgt", corpus.manifest().target.vocab_size)) {
  const hid_t root = file_.get();
  const int64_t version = h5::get_int_attribute(root, "format_version", path_);
  if (version != kCorpusFormatVersion)
    throw FormatError(path_ + ": shard format version " + std::to_string(version) + ", expected " +
                      std::to_string(kCorpusFormatVersion));
  const int64_t count = h5::get_int_attribute(root, "example_count", path_);
  if (count != entry.examples)
    throw FormatError(path_ + ": attribute example_count is " + std::to_string(count) +
                      ", manifest says " + std::to_string(entry.examples));
  const std::string shard_split = h5::get_string_attribute(root, "split", path_);
  if (shard_split != split)
    throw FormatError(path_ + ": shard of split '" + shard_split + "', listed under '" + split +
                      "'");
  const Manifest& manifest = corpus.manifest();
  for (const auto& [attribute, expected] :
       {std::pair{"src_vocab_checksum", manifest.source.vocab_checksum},
        std::pair{"tgt_vocab_checksum", manifest.target.vocab_checksum}}) {
    const std::string found = h5::get_string_attribute(root, attribute, path_);
    if (found != expected)
      throw FormatError(path_ + ": " + attribute + " " + found +
                        " differs from the corpus vocabulary's " + expected);
  }
  lock_.unlock();
}

ShardReader::~ShardReader() {
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  for (Side* side : {&source_, &target_}) {
    side->tokens.close();
    side->offsets.close();
    side->lengths.close();
  }
  file_.reset();
}

ShardReader::Side ShardReader::open_side(const std::string& prefix, int32_t vocab_size) const {
  const hid_t root = file_.get();
  Side side{h5::Dataset1D(root, prefix + "_tokens", path_, kTokenCacheBytes),
            h5::Dataset1D(root, prefix + "_offsets", path_),
            h5::Dataset1D(root, prefix + "_lengths", path_), vocab_size};
  // Shapes are checked here (O(1)); offsets and lengths of each example when it is read.
  const int64_t n = examples_;
  if (side.offsets.size() != n + 1)
    throw FormatError(path_ + ": dataset " + prefix + "_offsets has " +
                      std::to_string(side.offsets.size()) + " entries, expected " +
                      std::to_string(n + 1));
  if (side.lengths.size() != n)
    throw FormatError(path_ + ": dataset " + prefix + "_lengths has " +
                      std::to_string(side.lengths.size()) + " entries, expected " +
                      std::to_string(n));
  std::vector<int64_t> ends;
  side.offsets.read_int64(0, 1, ends);
  if (ends[0] != 0) throw FormatError(path_ + ": " + prefix + "_offsets does not start at 0");
  side.offsets.read_int64(n, 1, ends);
  if (ends[0] != side.tokens.size())
    throw FormatError(path_ + ": dataset " + prefix + "_tokens has " +
                      std::to_string(side.tokens.size()) + " entries, offsets say " +
                      std::to_string(ends[0]));
  return side;
}

void ShardReader::read_side(const Side& side, int64_t first, int64_t count, const char* name,
                            std::vector<Example>& out, size_t out_begin, bool source) const {
  const char* prefix = source ? "src" : "tgt";
  std::vector<int64_t> offsets;
  std::vector<int32_t> lengths, tokens;
  side.offsets.read_int64(first, count + 1, offsets);
  side.lengths.read_int32(first, count, lengths);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t length = offsets[static_cast<size_t>(i + 1)] - offsets[static_cast<size_t>(i)];
    if (length <= 0 || length != lengths[static_cast<size_t>(i)])
      throw FormatError(path_ + ": example " + std::to_string(first + i) + " has " + prefix +
                        " offsets spanning " + std::to_string(length) + " tokens but length " +
                        std::to_string(lengths[static_cast<size_t>(i)]));
  }
  const int64_t begin = offsets.front(), end = offsets.back();
  if (begin < 0 || end > side.tokens.size())
    throw FormatError(path_ + ": " + prefix + "_offsets point outside " + prefix + "_tokens");
  side.tokens.read_int32(begin, end - begin, tokens);
  for (int64_t i = 0; i < count; ++i) {
    const auto from = static_cast<size_t>(offsets[static_cast<size_t>(i)] - begin);
    const auto to = static_cast<size_t>(offsets[static_cast<size_t>(i + 1)] - begin);
    Example& example = out[out_begin + static_cast<size_t>(i)];
    std::vector<int32_t>& ids = source ? example.source : example.target;
    ids.assign(tokens.begin() + static_cast<std::ptrdiff_t>(from),
               tokens.begin() + static_cast<std::ptrdiff_t>(to));
    for (int32_t id : ids)
      if (id < kUnkId || id == kBosId || id == kEosId || id >= side.vocab_size)
        throw FormatError(path_ + ": " + name + " token id " + std::to_string(id) + " of example " +
                          std::to_string(first + i) + " is not a valid id for a vocabulary of " +
                          std::to_string(side.vocab_size));
  }
}

void ShardReader::read(int64_t first, int64_t count, std::vector<Example>& out) const {
  if (first < 0 || count < 0 || first + count > examples_)
    throw FormatError(path_ + ": examples [" + std::to_string(first) + ", " +
                      std::to_string(first + count) + ") requested, shard has " +
                      std::to_string(examples_));
  std::lock_guard<std::mutex> lock(h5::library_mutex());
  const size_t out_begin = out.size();
  out.resize(out_begin + static_cast<size_t>(count));
  read_side(source_, first, count, "source", out, out_begin, true);
  read_side(target_, first, count, "target", out, out_begin, false);
}

// ---------------------------------------------------------------------------------------------

ShardWriter::ShardWriter(const std::string& directory, const std::string& split,
                         const Manifest& manifest, int deflate_level)
    : directory_(directory), split_(split), manifest_(manifest), deflate_level_(deflate_level) {}

void ShardWriter::add(const std::vector<int32_t>& source, const std::vector<int32_t>& target) {
  source_tokens_.insert(source_tokens_.end(), source.begin(), source.end());
  target_tokens_.insert(target_tokens_.end(), target.begin(), target.end());
  source_offsets_.push_back(static_cast<int64_t>(source_tokens_.size()));
  target_offsets_.push_back(static_cast<int64_t>(target_tokens_.size()));
  source_lengths_.push_back(static_cast<int32_t>(source.size()));
  target_lengths_.push_back(static_cast<int32_t>(target.size()));
}

ShardEntry ShardWriter::write(const std::string& file_name) {
  // Built in memory, then written with checked POSIX I/O (temp + fsync + rename), as checkpoints
  // are: a full disk or a size limit is a clear error naming the file, never an HDF5 file that
  // failed to close (which HDF5 then crashes on at exit).
  const std::string path = directory_ + "/" + file_name;
  h5::Image image;
  {
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    h5::MemoryFile file(path);
    const hid_t root = file.get();
    h5::write_int32(root, "src_tokens", source_tokens_, kTokenChunk, deflate_level_, path);
    h5::write_int64(root, "src_offsets", source_offsets_, kExampleChunk, deflate_level_, path);
    h5::write_int32(root, "src_lengths", source_lengths_, kExampleChunk, deflate_level_, path);
    h5::write_int32(root, "tgt_tokens", target_tokens_, kTokenChunk, deflate_level_, path);
    h5::write_int64(root, "tgt_offsets", target_offsets_, kExampleChunk, deflate_level_, path);
    h5::write_int32(root, "tgt_lengths", target_lengths_, kExampleChunk, deflate_level_, path);
    h5::set_attribute(root, "format_version", kCorpusFormatVersion, path);
    h5::set_attribute(root, "example_count", size(), path);
    h5::set_attribute(root, "split", split_, path);
    h5::set_attribute(root, "src_vocab_checksum", manifest_.source.vocab_checksum, path);
    h5::set_attribute(root, "tgt_vocab_checksum", manifest_.target.vocab_checksum, path);
    image = file.take_image();
  }
  {
    // HDF5 keeps freed blocks on its own free lists; hand them back so memory stays flat
    // however many shards are written.
    std::lock_guard<std::mutex> lock(h5::library_mutex());
    H5garbage_collect();
  }
  write_file_atomically(path, image.view());
  ShardEntry entry{file_name, size(), static_cast<int64_t>(source_tokens_.size()),
                   static_cast<int64_t>(target_tokens_.size())};
  source_tokens_.clear();
  target_tokens_.clear();
  source_lengths_.clear();
  target_lengths_.clear();
  source_offsets_.assign(1, 0);
  target_offsets_.assign(1, 0);
  return entry;
}

}  // namespace tandem::data
