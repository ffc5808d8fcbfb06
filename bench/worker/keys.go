package worker

import "strconv"

// Key is the device key of index i under prefix: the parent uses it to
// address key pushes to the device a worker connected.
func Key(prefix string, i int) string { return prefix + "-" + strconv.Itoa(i) }
