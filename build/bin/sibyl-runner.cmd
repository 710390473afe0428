@echo off
rem sibyl-runner.cmd: the command-line tool shipped inside the desktop app. Runs the bundled CLI
rem on the app's own Electron in Node mode, so no separate Node install is needed. Installed as
rem <install dir>\resources\bin\sibyl-runner.cmd; the installer puts that folder on the user's PATH.
setlocal
set ELECTRON_RUN_AS_NODE=1
"%~dp0..\..\Sibyl Runner.exe" "%~dp0..\cli\bin\sibyl-runner.js" %*
exit /b %ERRORLEVEL%
