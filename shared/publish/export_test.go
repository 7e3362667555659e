package publish

// SetSmallLayout shrinks s's storage layout to three binary properties per
// chunk entity and two chunk entities per transaction, so tests reach
// several entities and concurrent transactions with payloads of a few
// hundred KiB (the race detector makes megabytes slow). Loading does not
// depend on the layout.
func SetSmallLayout(s *Store) {
	s.entityData = 3 * partSize
	s.batchJSON = 600 << 10
}
