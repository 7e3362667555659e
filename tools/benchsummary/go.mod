module github.com/elmcity/elmcity/tools/benchsummary

go 1.26
