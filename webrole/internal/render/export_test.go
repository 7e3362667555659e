package render

// StyleHashOf is the CSP source of a <style> element holding css.
func StyleHashOf(css string) string { return styleSourceOf(css) }
