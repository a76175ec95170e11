{
  # A source checkout's build (npm install): build/Release/malloc_lab.node and
  # build/Release/malloc-lab-fresh. What they are built from: native/malloc_lab.gypi.
  "includes": ["native/malloc_lab.gypi"]
}
