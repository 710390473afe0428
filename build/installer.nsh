; Included by electron-builder's NSIS installer (nsis.include). Puts the command-line tool's
; folder (<install dir>\resources\bin, holding sibyl-runner.cmd) on the installing user's PATH and
; takes it off again on uninstall, except when the uninstaller runs as part of an update.
; PowerShell edits the registry value directly so Path stays REG_EXPAND_SZ (its %VARS% keep
; working) and entries are compared as a list, not as a substring; NSIS has no list functions.
;
; The folder reaches PowerShell through the environment (SIBYL_PATH_DIR), never inside the
; command: the install folder is the user's choice (and per-user installs live under the profile,
; C:\Users\O'Brien\...), so an apostrophe would end a quoted PowerShell string there, and a `$`,
; `;`, `&` or backtick would be code. The only `$` in the command are NSIS's `$$` (a literal `$`).

!macro sibylEditUserPath ACTION
  Push $0
  Push $1
  StrCpy $1 "$INSTDIR\resources\bin"
  ; r1: the System plugin reads the value from register $1 as it is, unparsed.
  System::Call 'kernel32::SetEnvironmentVariable(t "SIBYL_PATH_DIR", t r1)i.r0'
  nsExec::ExecToLog `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "$$d = [string]$$env:SIBYL_PATH_DIR; if (-not $$d) { exit 2 }; $$k = [Microsoft.Win32.Registry]::CurrentUser.CreateSubKey('Environment'); $$p = [string]$$k.GetValue('Path', '', 'DoNotExpandEnvironmentNames'); $$rest = @($$p -split ';' | Where-Object { $$_ -and ($$_.TrimEnd('\') -ne $$d) }); if ('${ACTION}' -eq 'add') { $$rest += $$d }; $$k.SetValue('Path', ($$rest -join ';'), 'ExpandString')"`
  Pop $0
  ; Gone again (NULL removes it): the app started from the finish page would inherit it.
  System::Call 'kernel32::SetEnvironmentVariable(t "SIBYL_PATH_DIR", i 0)i.r0'
  ; HWND_BROADCAST, WM_SETTINGCHANGE: open Explorer windows and new terminals see the new PATH.
  SendMessage 0xFFFF 0x1A 0 "STR:Environment" /TIMEOUT=5000
  Pop $1
  Pop $0
!macroend

!macro customInstall
  !insertmacro sibylEditUserPath add
!macroend

!macro customUnInstall
  ${ifNot} ${isUpdated}
    !insertmacro sibylEditUserPath remove
  ${endIf}
!macroend
