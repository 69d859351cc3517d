import Config

config :gigalixir_sample, port: String.to_integer(System.get_env("PORT") || "4000")
