// skiff image: the node's OCI image store, used directly (no daemon involved): `import` writes an
// OCI image archive into the store that the runc runtime of skiffd on this machine reads, `ls`
// lists it, `rm` removes an image and collects what no image needs. The store is
// <data-dir>/images, data-dir being skiffd's (--data-dir, else SKIFF_DATA_DIR, else its default).
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "cli/skiff/commands.hpp"
#include "cli/skiff/errors.hpp"
#include "image_store.hpp"
#include "kernel/config/daemon_config.hpp"
#include "oci_archive.hpp"

namespace skiff::cli {
namespace {

namespace oci = plugins::runtime::oci;

constexpr const char* kUsage =
    "Usage: skiff image SUBCOMMAND [options]\n\n"
    "Subcommands:\n"
    "  import FILE [--name REF]   store an OCI image archive (oci-layout tarball, optionally compressed)\n"
    "  ls                         list the stored images\n"
    "  rm REF|ID                  remove an image (by reference, or every name of an image id)\n\n"
    "Every subcommand takes --data-dir DIR: skiffd's data directory (default: $SKIFF_DATA_DIR, else "
    "/var/lib/skiff); the store is DIR/images.\n";

std::string default_data_dir() {
  const char* env = std::getenv("SKIFF_DATA_DIR");
  return env != nullptr && *env != '\0' ? env : std::string(kernel::kDefaultDataDir);
}

std::string short_id(const std::string& digest) { return digest.substr(7, 12); }

}  // namespace

int cmd_image(Context& ctx, const Args& args) {
  auto sub = split_subcommand("image", args, kUsage, "import, ls, rm");
  if (!sub) return kExitOk;
  auto& [name, rest] = *sub;
  std::string data_dir = default_data_dir();
  if (name == "import") {
    CommandLine cl(ctx, "image import", "image import FILE [--name REF] [--data-dir DIR]",
                   "Store the images of an OCI image archive, each blob verified against its digest. A name is\n"
                   "needed when the archive gives none (org.opencontainers.image.ref.name holding a full reference,\n"
                   "or io.containerd.image.name).");
    std::string ref;
    cl.add()("name", po::value(&ref)->value_name("REF"), "The name to give the (single) image of the archive.")  //
        ("data-dir", po::value(&data_dir)->value_name("DIR"), "skiffd's data directory.");
    if (!cl.parse(rest)) return kExitOk;
    cl.expect_positionals(1, 1, "exactly one archive is expected: skiff image import FILE");
    oci::ImageStore store(std::filesystem::path(data_dir) / "images");
    auto imported = oci::import_archive(store, cl.positionals().front(), ref);
    if (!imported) throw Failure(imported.status().message());
    for (const auto& image : *imported)
      std::cout << "imported " << image.reference << " (" << image.config_digest << ")\n";
    return kExitOk;
  }
  if (name == "ls") {
    CommandLine cl(ctx, "image ls", "image ls [--data-dir DIR]", "List the images in the node's store.");
    cl.add()("data-dir", po::value(&data_dir)->value_name("DIR"), "skiffd's data directory.");
    if (!cl.parse(rest)) return kExitOk;
    cl.expect_positionals(0, 0, "image ls takes no arguments");
    oci::ImageStore store(std::filesystem::path(data_dir) / "images");
    auto all = store.list();
    if (!all) throw Failure(all.status().message());
    std::cout << std::left << std::setw(50) << "REFERENCE" << std::setw(14) << "IMAGE ID" << "SIZE\n";
    for (const auto& image : *all)
      std::cout << std::setw(50) << image.reference << std::setw(14) << short_id(image.config_digest)
                << image.size_bytes << "\n";
    return kExitOk;
  }
  if (name == "rm") {
    CommandLine cl(ctx, "image rm", "image rm REF|ID [--data-dir DIR]", "Remove an image from the node's store.");
    cl.add()("data-dir", po::value(&data_dir)->value_name("DIR"), "skiffd's data directory.");
    if (!cl.parse(rest)) return kExitOk;
    cl.expect_positionals(1, 1, "exactly one image is expected: skiff image rm REF|ID");
    oci::ImageStore store(std::filesystem::path(data_dir) / "images");
    if (auto st = store.remove(cl.positionals().front()); !st) throw Failure(st.message());
    std::cout << "removed " << cl.positionals().front() << "\n";
    return kExitOk;
  }
  throw UsageError("image", "unknown subcommand \"" + name + "\" (import, ls, rm)");
}

}  // namespace skiff::cli
