# frozen_string_literal: true

Rails.application.routes.draw do
  resources :signups, only: %i[create show]
end
