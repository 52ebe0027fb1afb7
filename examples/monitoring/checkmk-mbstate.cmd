@echo off
rem Checkmk local check (Windows agent): copy to
rem   C:\ProgramData\checkmk\agent\local\mbstate.cmd
rem The agent runs it and passes on its one line
rem   <status> mbstate <metrics> <text>
rem (README, "Monitoring"). A check reads both disks: let the agent run it
rem asynchronously with a cache age of 900 s (check_mk.user.yml, section
rem local, execution: pattern mbstate.cmd, async yes, cache_age 900).
"C:\Program Files\mbstate\mbstate.exe" check C:\ProgramData\mbstate\site.yaml --format checkmk --lock-timeout 20
