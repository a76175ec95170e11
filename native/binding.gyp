{
  # Building from source inside an installed package, where the package root has no
  # binding.gyp (that would make npm and pnpm run an install script):
  #   npx node-gyp rebuild --directory=node_modules/malloc-lab/native
  # gives native/build/Release/, which the loader prefers to the prebuilt binaries.
  "includes": ["malloc_lab.gypi"]
}
