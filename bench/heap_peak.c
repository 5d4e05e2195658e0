// Preloaded into the daemon by bench/cross_footprint.sh. Under qemu-user the process's RSS
// is qemu's own (translator, code cache, guest address space), so this counts what the
// program itself asks of malloc: the peak of the bytes in use (malloc_usable_size of
// every live block), printed to stderr at exit with glibc's mallinfo2 figures.
#include <malloc.h>
#include <stdio.h>

void* __libc_malloc(size_t n);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t n);
void* __libc_memalign(size_t align, size_t n);
void __libc_free(void* p);

static size_t in_use, peak;

static void* counted(void* p) {
  if (p) {
    size_t now = __atomic_add_fetch(&in_use, malloc_usable_size(p), __ATOMIC_RELAXED);
    if (now > peak) peak = now;  // a bench figure: a lost race only understates it
  }
  return p;
}

static void uncount(void* p) {
  if (p) __atomic_sub_fetch(&in_use, malloc_usable_size(p), __ATOMIC_RELAXED);
}

void* malloc(size_t n) {
  return counted(__libc_malloc(n));
}
void* calloc(size_t n, size_t size) {
  return counted(__libc_calloc(n, size));
}
void* memalign(size_t align, size_t n) {
  return counted(__libc_memalign(align, n));
}
void* aligned_alloc(size_t align, size_t n) {
  return memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  void* p = memalign(align, n);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void free(void* p) {
  uncount(p);
  __libc_free(p);
}
void* realloc(void* old, size_t n) {
  size_t before = old ? malloc_usable_size(old) : 0;
  void* p = __libc_realloc(old, n);
  if (!p && n) return NULL;  // the old block is still there, still counted
  __atomic_sub_fetch(&in_use, before, __ATOMIC_RELAXED);
  return counted(p);
}

__attribute__((destructor)) static void report(void) {
  struct mallinfo2 m = mallinfo2();
  fprintf(stderr, "heap_peak: peak_in_use=%zu arena=%zu mmap=%zu\n", peak, m.arena, m.hblkhd);
}
