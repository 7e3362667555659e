// Package textenc holds the rules about text encodings that fetching a
// feed and parsing one must agree on, so that a feed reads the same
// whether it was fetched or read from a file.
package textenc

import "unicode/utf8"

// MostlyUTF8 reports whether data, which is not valid UTF-8, is UTF-8
// with some broken bytes rather than text in a legacy charset: it holds
// valid multi-byte UTF-8 sequences, at least one for every four bytes
// that are not UTF-8. Legacy text (Latin-1, Windows-1252) has none, or a
// rare one by accident ("Ã©" is a valid sequence) among many accented
// letters that are not.
func MostlyUTF8(data []byte) bool {
	multi, invalid := 0, 0
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			invalid++
		} else {
			multi++
		}
		i += size
	}
	return multi > 0 && 4*multi >= invalid
}
