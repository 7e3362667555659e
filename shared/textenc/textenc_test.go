package textenc_test

import (
	"testing"

	"github.com/elmcity/elmcity/shared/textenc"
)

func TestMostlyUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"UTF8WithOneBrokenByte", "2005年日本\xff語", true},
		{"Latin1", "caf\xe9 cr\xe8me br\xfbl\xe9e", false},
		{"ASCIIWithOneBrokenByte", "plain \xff text", false},
		{"AccidentalSequenceInLatin1", "\xc3\xa9 caf\xe9 cr\xe8me br\xfbl\xe9e na\xefve", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := textenc.MostlyUTF8([]byte(tt.in)); got != tt.want {
				t.Errorf("MostlyUTF8(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
