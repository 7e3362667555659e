module github.com/elmcity/elmcity/workerrole

go 1.26

require github.com/elmcity/elmcity/shared v0.0.0

replace github.com/elmcity/elmcity/shared => ../shared
