// Linked into every daemon and benchmark that allocates with tcmalloc (the skiff_allocator target in
// the root CMakeLists.txt), not into the kernel library: at start-up it gives tcmalloc a system
// allocator that grows the heap in 2 MiB-aligned regions marked for transparent huge pages, faulted
// in ahead of time by a thread of its own. kernel/allocator/README.md has the measurements.
//
// Why: a control plane's heap grows with every object it keeps (the store's cache, the watch ring,
// the informers), and each new page costs a fault on first touch. On the VMs Skiff was measured on, a
// 4 KiB fault costs 12-15 µs; a 2 MiB huge page is one fault instead of 512. Faulting the regions in
// on another thread keeps the remaining cost (zeroing 2 MiB, and the host backing it, up to a few
// milliseconds) off the threads that allocate, which would otherwise take it while tcmalloc holds
// a lock every other allocating thread may be waiting on.
#include <gperftools/malloc_extension.h>
#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
// What one heap growth gets when a faulted-in region is ready: tcmalloc takes the whole region (it
// reads the size we report back), so the next growths find memory already there.
constexpr std::size_t kRegion = 2 * kHugePage;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// `length` bytes aligned to `align` (a power of two ≥ 2 MiB), advised for huge pages; nullptr on failure.
void* map_aligned(std::size_t length, std::size_t align) {
  const std::size_t mapped = length + align;  // room to align, the ends given back below
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = (start + align - 1) & ~(std::uintptr_t{align} - 1);
  if (aligned > start) munmap(p, aligned - start);
  const std::uintptr_t end = aligned + length;
  if (start + mapped > end) munmap(reinterpret_cast<void*>(end), start + mapped - end);
  (void)madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);  // advice only
  return reinterpret_cast<void*>(aligned);
}

class HugePageHeap final : public SysAllocator {
 public:
  explicit HugePageHeap(SysAllocator* fallback) : fallback_(fallback) {}

  // tcmalloc calls this under its own lock, one call at a time. It must not allocate, so it takes no
  // lock of ours either: the regions are handed over through atomics.
  void* Alloc(std::size_t size, std::size_t* actual_size, std::size_t alignment) override {
    // A growth of the page heap says how much it got (actual_size); tcmalloc's own bookkeeping does
    // not, and would waste the rest of a region.
    if (actual_size != nullptr && size <= kRegion && alignment <= kHugePage) {
      for (auto& slot : ready_) {
        std::uintptr_t region = slot.exchange(0, std::memory_order_acquire);
        if (region == 0) continue;
        wake_refiller();
        *actual_size = kRegion;
        return reinterpret_cast<void*>(region);
      }
      wake_refiller();  // none ready: this growth faults its own pages
    }
    const std::size_t length = round_up(size, kHugePage);
    void* p = map_aligned(length, std::max(alignment, kHugePage));
    if (p == nullptr) return fallback_->Alloc(size, actual_size, alignment);
    if (actual_size != nullptr) *actual_size = length;
    return p;
  }

  // The refilling thread: keeps every slot holding a region whose pages are already faulted in.
  [[noreturn]] void refill() {
    for (;;) {
      const unsigned seen = wakes_.load(std::memory_order_acquire);
      for (auto& slot : ready_) {
        if (slot.load(std::memory_order_relaxed) != 0) continue;
        void* p = map_aligned(kRegion, kHugePage);
        if (p == nullptr) break;
        fault_in(p, kRegion);
        slot.store(reinterpret_cast<std::uintptr_t>(p), std::memory_order_release);
      }
      wakes_.wait(seen, std::memory_order_acquire);
    }
  }

 private:
  void wake_refiller() {
    wakes_.fetch_add(1, std::memory_order_release);
    wakes_.notify_one();
  }

  static void fault_in(void* p, std::size_t length) {
    if (madvise(p, length, MADV_POPULATE_WRITE) == 0) return;
    // Kernels before 5.14: one write per page does the same.
    for (std::size_t off = 0; off < length; off += 4096) static_cast<volatile char*>(p)[off] = 0;
  }

  SysAllocator* fallback_;
  // Regions ready to hand out (0: empty). Only the refilling thread fills a slot and only Alloc
  // empties one. After a fork the child has no refilling thread: it uses what the slots hold, then
  // maps as it goes.
  std::array<std::atomic<std::uintptr_t>, 2> ready_{};
  std::atomic<unsigned> wakes_{0};
};

// SKIFF_HEAP_HUGE_PAGES=0 keeps tcmalloc's own system allocator (to compare, or where huge pages
// cost memory that matters more than the faults).
struct Install {
  Install() {
    const char* env = std::getenv("SKIFF_HEAP_HUGE_PAGES");
    if (env != nullptr && std::strcmp(env, "0") == 0) return;
    MallocExtension* ext = MallocExtension::instance();
    SysAllocator* current = ext->GetSystemAllocator();
    if (current == nullptr) return;  // not tcmalloc
    static HugePageHeap heap(current);
    ext->SetSystemAllocator(&heap);
    std::thread refiller([] { heap.refill(); });
    pthread_setname_np(refiller.native_handle(), "skiff-heap");
    refiller.detach();
  }
} install;

}  // namespace
