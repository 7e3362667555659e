package scheduler_test

import "slices"

func sorted(s []string) []string { slices.Sort(s); return s }
