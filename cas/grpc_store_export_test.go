package cas

// SetGRPCStoreFindMissingBatch lets the external tests shrink batches.
func SetGRPCStoreFindMissingBatch(s *GRPCStore, n int) { s.findMissingBatch = n }
