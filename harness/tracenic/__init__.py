"""tracenic host harness: boots guests on the project's QEMU and collects artifacts."""
