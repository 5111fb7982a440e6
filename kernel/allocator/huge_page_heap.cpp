// Linked into every daemon and benchmark that allocates with tcmalloc (the skiff_allocator target in
// the root CMakeLists.txt), not into the kernel library: at start-up it gives tcmalloc a system
// allocator that grows the heap in 2 MiB-aligned regions marked for transparent huge pages.
//
// Why: a control plane's heap grows with every object it keeps (the store's cache, the watch ring, the
// informers), and each new 4 KiB page costs a page fault on first touch. On the VMs Skiff was measured
// on that fault is dear: 12-15 µs per page, ~18 % of bench_scheduler's CPU (bench/scheduler/README.md).
// With MADV_HUGEPAGE one fault maps 2 MiB: touching 256 MiB took 0.95 s in 4 KiB pages and 0.02 s in
// huge pages there. Where transparent huge pages are off ("never"), the advice does nothing and this
// is tcmalloc's own mmap path.
#include <gperftools/malloc_extension.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

class HugePageHeap final : public SysAllocator {
 public:
  explicit HugePageHeap(SysAllocator* fallback) : fallback_(fallback) {}

  void* Alloc(std::size_t size, std::size_t* actual_size, std::size_t alignment) override {
    const std::size_t align = std::max(alignment, kHugePage);
    const std::size_t length = round_up(size, kHugePage);
    // Map the length plus room to align it, then give back the ends.
    const std::size_t mapped = length + align;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return fallback_->Alloc(size, actual_size, alignment);
    const auto start = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t aligned = (start + align - 1) & ~(std::uintptr_t{align} - 1);
    if (aligned > start) munmap(p, aligned - start);
    const std::uintptr_t end = aligned + length;
    if (start + mapped > end) munmap(reinterpret_cast<void*>(end), start + mapped - end);
    (void)madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);  // advice only
    if (actual_size != nullptr) *actual_size = length;
    return reinterpret_cast<void*>(aligned);
  }

 private:
  SysAllocator* fallback_;
};

// SKIFF_HEAP_HUGE_PAGES=0 keeps tcmalloc's own allocator (to compare, or where huge pages cost memory
// that matters more than the faults).
struct Install {
  Install() {
    const char* env = std::getenv("SKIFF_HEAP_HUGE_PAGES");
    if (env != nullptr && std::strcmp(env, "0") == 0) return;
    MallocExtension* ext = MallocExtension::instance();
    SysAllocator* current = ext->GetSystemAllocator();
    if (current == nullptr) return;  // not tcmalloc
    static HugePageHeap heap(current);
    ext->SetSystemAllocator(&heap);
  }
} install;

}  // namespace
