package script

// ForgetPrograms drops every compiled program, so the next run compiles
// its script again. Benchmarks use it to measure compiling per run.
func (e *Engine) ForgetPrograms() {
	e.progMu.Lock()
	defer e.progMu.Unlock()
	clear(e.progs)
}
