module github.com/elmcity/elmcity/workerrole

go 1.26

require (
	github.com/elmcity/elmcity/shared v0.0.0
	github.com/google/go-cmp v0.7.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/Azure/azure-sdk-for-go/sdk/azcore v1.18.0 // indirect
	github.com/Azure/azure-sdk-for-go/sdk/data/aztables v1.4.0 // indirect
	github.com/Azure/azure-sdk-for-go/sdk/internal v1.11.1 // indirect
	github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue v1.0.1 // indirect
	github.com/emersion/go-ical v0.0.0-20250329121855-f41e73efc392 // indirect
	github.com/teambition/rrule-go v1.8.2 // indirect
	golang.org/x/net v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

replace github.com/elmcity/elmcity/shared => ../shared
