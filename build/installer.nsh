; Included by electron-builder's NSIS installer (nsis.include). Puts the command-line tool's
; folder (<install dir>\resources\bin, holding sibyl-runner.cmd) on the installing user's PATH and
; takes it off again on uninstall, except when the uninstaller runs as part of an update.
; PowerShell edits the registry value directly so Path stays REG_EXPAND_SZ (its %VARS% keep
; working) and entries are compared as a list, not as a substring; NSIS has no list functions.

!macro sibylEditUserPath ACTION
  nsExec::ExecToLog `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "$$d = '$INSTDIR\resources\bin'; $$k = [Microsoft.Win32.Registry]::CurrentUser.CreateSubKey('Environment'); $$p = [string]$$k.GetValue('Path', '', 'DoNotExpandEnvironmentNames'); $$rest = @($$p -split ';' | Where-Object { $$_ -and ($$_.TrimEnd('\') -ne $$d) }); if ('${ACTION}' -eq 'add') { $$rest += $$d }; $$k.SetValue('Path', ($$rest -join ';'), 'ExpandString')"`
  Pop $0
  ; HWND_BROADCAST, WM_SETTINGCHANGE: open Explorer windows and new terminals see the new PATH.
  SendMessage 0xFFFF 0x1A 0 "STR:Environment" /TIMEOUT=5000
!macroend

!macro customInstall
  !insertmacro sibylEditUserPath add
!macroend

!macro customUnInstall
  ${ifNot} ${isUpdated}
    !insertmacro sibylEditUserPath remove
  ${endIf}
!macroend
