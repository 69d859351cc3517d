defmodule Kiln.HotUpgrade.Log do
  @moduledoc "How the hot upgrade speaks in the build log, and how it stops."
  def say(line), do: IO.puts("       " <> line)

  def term(appup) do
    :io_lib.format(~c"~p.", [appup])
    |> IO.chardata_to_string()
    |> String.split("\n")
    |> Enum.each(&IO.puts("       " <> &1))
  end

  def impossible(reason) do
    fail(
      "Hot upgrade impossible: #{reason}.\nA push without KILN-HOT: true deploys this commit by restart."
    )
  end

  def fail(message) do
    for line <- String.split(message, "\n"), do: IO.puts(:stderr, " !     " <> line)
    System.halt(1)
  end
end
