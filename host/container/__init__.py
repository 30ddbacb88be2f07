"""The .dcb container (docs/bitstream.md): layout, metadata, writer, reader, signatures, device tags."""
