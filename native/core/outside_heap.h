// Memory for the library's own bookkeeping, taken straight from the kernel with
// mmap so that it never lands in (or reshapes) the glibc heap being measured.
#pragma once

#include <cstddef>

namespace malloclab {

// Zero-filled, page-granular; throws Error(ENOMEM) on failure.
void* map_private(size_t bytes);
void unmap_private(void* address, size_t bytes);
// Grows or shrinks a mapping made by map_private, possibly moving it.
void* remap_private(void* address, size_t old_bytes, size_t new_bytes);

// A growable array of trivially copyable T in mmap'd memory.
template <typename T>
class OutsideVector {
 public:
  OutsideVector() = default;
  OutsideVector(const OutsideVector&) = delete;
  OutsideVector& operator=(const OutsideVector&) = delete;
  OutsideVector(OutsideVector&& other) noexcept { swap(other); }
  OutsideVector& operator=(OutsideVector&& other) noexcept {
    if (this != &other) {
      release();
      swap(other);
    }
    return *this;
  }
  ~OutsideVector() { release(); }

  void reserve(size_t count) {
    if (count <= capacity_) return;
    size_t bytes = count * sizeof(T);
    data_ = static_cast<T*>(data_ == nullptr ? map_private(bytes)
                                             : remap_private(data_, capacity_ * sizeof(T), bytes));
    capacity_ = count;
  }
  void push_back(const T& value) {
    if (size_ == capacity_) reserve(capacity_ == 0 ? 512 : capacity_ * 2);
    data_[size_++] = value;
  }
  void resize(size_t count) {
    reserve(count);
    size_ = count;
  }
  void clear() { size_ = 0; }
  void release() {
    if (data_ != nullptr) unmap_private(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  void swap(OutsideVector& other) noexcept {
    T* d = data_;
    data_ = other.data_;
    other.data_ = d;
    size_t s = size_;
    size_ = other.size_;
    other.size_ = s;
    size_t c = capacity_;
    capacity_ = other.capacity_;
    other.capacity_ = c;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace malloclab
