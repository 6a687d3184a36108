"""Operations: what tasks do, one module each, written against the two boundaries."""
