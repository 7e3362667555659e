package calendar

import "time"

// Record is the JSON form of an Occurrence used by the elmcity test
// corpus (shared/corpus/README.md) and by `workerrole expand`: times in
// UTC as "2006-01-02T15:04:05Z", DATE values as "2006-01-02", floating
// times as their wall clock written as if it were UTC.
type Record struct {
	UID string `json:"uid"`
	// RecurrenceID is set only when an override supplied the data.
	RecurrenceID string `json:"recurrence_id,omitempty"`
	Summary      string `json:"summary"`
	Start        string `json:"start"`
	End          string `json:"end"`
	AllDay       bool   `json:"all_day"`
	Floating     bool   `json:"floating,omitempty"`
	Status       string `json:"status,omitempty"`
	// Policy names the hub policy that changed the times, if any.
	Policy string `json:"policy,omitempty"`
}

// Layouts of Record times.
const (
	recordDateTime = "2006-01-02T15:04:05Z"
	recordDate     = "2006-01-02"
)

// Record returns the JSON form of o.
func (o *Occurrence) Record() Record {
	r := Record{
		UID:      o.UID,
		Summary:  o.Summary,
		Start:    formatRecordTime(o.Start, o.AllDay),
		End:      formatRecordTime(o.End, o.AllDay),
		AllDay:   o.AllDay,
		Floating: o.Floating,
		Status:   string(o.Status),
		Policy:   string(o.Policy),
	}
	if o.Override {
		r.RecurrenceID = formatRecordTime(o.RecurrenceID, o.ridDate)
	}
	return r
}

// formatRecordTime formats a time by the Record conventions. Floating
// times are already their wall clock in UTC.
func formatRecordTime(t time.Time, date bool) string {
	if date {
		return t.UTC().Format(recordDate)
	}
	return t.UTC().Format(recordDateTime)
}
